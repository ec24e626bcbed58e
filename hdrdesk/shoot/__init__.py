"""A whole shoot at once: find the brackets in a folder of camera files and fuse them in a queue (Qt-free)."""

from hdrdesk.shoot.exif import ShotInfo, read_shot_info
from hdrdesk.shoot.grouping import Bracket, Grouping, Shot, group_files, group_folder, scan_folder

__all__ = ["Bracket", "Grouping", "Shot", "ShotInfo", "group_files", "group_folder", "read_shot_info", "scan_folder"]
