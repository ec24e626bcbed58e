"""The Qt shell: windows and workers that adapt the Qt-free core."""
