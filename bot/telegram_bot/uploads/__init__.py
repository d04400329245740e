"""Admin document uploads in chat: fetching and checking the file (``files``) and the one status
message that is edited as the upload progresses (``status``)."""
