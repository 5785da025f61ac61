"""容灾备份: consistent, encrypted, signed backups of a running office, restores that check themselves,
and drills that prove both (`canbao backup create | restore | drill | key`).

第二十六条：全民参保登记信息系统安全和数据安全管理以及网络安全、容灾备份等内容遵照《人力资源和社会保障
数据中心应用系统安全管理规范(试行)》、《人力资源和社会保障数据中心数据库安全管理规范(试行)》及相关规定执行。
"""
