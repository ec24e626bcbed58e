"""The Qt shell: windows and workers that adapt the Qt-free core."""

import logging

# Messages logged by the GUI go to the log file once the app sets it up (hdrdesk.gui.crash);
# without that (tests, scripts) they are not printed to stderr by logging's last-resort handler.
logging.getLogger("hdrdesk.gui").addHandler(logging.NullHandler())
