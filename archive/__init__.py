"""The archive of the paperwork (第三十二条): documents in an object store, sealed at 入库."""
