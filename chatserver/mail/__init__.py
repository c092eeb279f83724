"""Outgoing (and inbound) e-mail: a durable queue per site in Redis (chatserver/store/mail.py),
a sender on every node that claims each mail under a lease and sends it over SMTP (or keeps it
in the local outbox when no SMTP server is configured), the team's alerts and the templates
the mails are rendered from."""
