"""Admin document uploads in chat: fetching and checking the file (``files``), the one status
message that is edited as the upload progresses (``status``), what the admin reads (``text``),
and the choice offered when an upload duplicates a loaded document (``duplicates``)."""
