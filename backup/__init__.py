"""容灾备份 (第二十六条): consistent, encrypted, signed backups of a running office, restores that check
themselves, and drills that prove both (`canbao backup create | restore | drill | key`)."""
