"""File attachments: storage backends, type sniffing, image re-encoding, signed download URLs
and the upload and download routes (see docs/protocol.md, "Files")."""
