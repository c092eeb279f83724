"""Every Redis key and channel name, in one place.

Keys of one site share the hash tag ``{site}`` so each Lua script touches a single Redis
Cluster slot. Account and session keys are global (no script mixes them with site keys).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Keys:
    prefix: str = "cs"

    # --- global ---------------------------------------------------------------------------
    def sites(self) -> str:
        return f"{self.prefix}:sites"

    def sites_version(self) -> str:
        """Counter bumped (lua/site_add.lua) whenever a site joins :meth:`sites`: what each
        node's cached copy of the set checks. Its hash tag is the set's whole name, so both
        live in one Redis Cluster slot and one script changes both."""
        return f"{{{self.prefix}:sites}}:version"

    def account(self, agent_id: str) -> str:
        return f"{self.prefix}:account:{agent_id}"

    def accounts_by_email(self) -> str:
        return f"{self.prefix}:accounts:email"

    def session(self, token: str) -> str:
        return f"{self.prefix}:session:{token}"

    def agent_sessions(self, agent_id: str) -> str:
        return f"{self.prefix}:account:{agent_id}:sessions"

    def api_keys(self) -> str:
        """Hash of every site's API keys: ``<key id>`` -> the key's record (JSON, written
        once), ``<key id>:revoked`` and ``<key id>:used`` -> ms. One hash: each change is one
        command, so nothing is read and then written across round trips."""
        return f"{self.prefix}:{{apikeys}}:records"

    def api_limit(self, key_id: str) -> str:
        """Leases of one API key's requests (the per-minute limit)."""
        return f"{self.prefix}:limit:api:{key_id}"

    # --- abuse limits (sorted sets of leases: member -> expiry ms; see core/leases.py) ------
    def ip_limit(self, kind: str, ip: str) -> str:
        """Leases of one client IP: ``conns`` (open visitor sockets), ``convs`` (new chats)."""
        return f"{self.prefix}:limit:{kind}:{ip}"

    def login_limit(self, kind: str, subject: str) -> str:
        """Sign-in attempts per ``acct`` (a hash of the email) or ``ip``; one hash tag, so
        one script checks both."""
        return f"{self.prefix}:{{login}}:limit:{kind}:{subject}"

    # --- per site (hash-tagged) -------------------------------------------------------------
    def _s(self, site: str) -> str:
        return f"{self.prefix}:{{{site}}}"

    def site(self, site: str) -> str:
        """Hash: the site's settings (allowed origins, greeting, ...)."""
        return f"{self._s(site)}:site"

    def channel(self, site: str) -> str:
        """Pub/sub channel that rings the doorbell for every event of the site."""
        return f"{self._s(site)}:events"

    def conversation(self, site: str, conv_id: str) -> str:
        return f"{self._s(site)}:conv:{conv_id}"

    def messages(self, site: str, conv_id: str) -> str:
        """Stream: the conversation's messages; the stream id is the message id."""
        return f"{self._s(site)}:msgs:{conv_id}"

    def client_ids(self, site: str, conv_id: str) -> str:
        """Hash client_id -> 'stream_id ts': makes sends idempotent."""
        return f"{self._s(site)}:cids:{conv_id}"

    def queue(self, site: str, department: str) -> str:
        """Sorted set of queued conversation ids, by priority then queued_at."""
        return f"{self._s(site)}:queue:{department or '_'}"

    def departments(self, site: str) -> str:
        """Set of department names that have (had) a queue."""
        return f"{self._s(site)}:departments"

    def open_conversations(self, site: str) -> str:
        """Sorted set conv_id -> created_at of every conversation not yet closed."""
        return f"{self._s(site)}:open"

    def visitor(self, site: str, visitor_id: str) -> str:
        return f"{self._s(site)}:visitor:{visitor_id}"

    def visitor_conversations(self, site: str, visitor_id: str) -> str:
        """Sorted set of all the visitor's conversations by created_at (history)."""
        return f"{self._s(site)}:visitor:{visitor_id}:convs"

    def visitor_pages(self, site: str, visitor_id: str) -> str:
        """List of the pages of the visitor's current visit, newest first (JSON {url, title,
        ts}; chatserver/core/visits.py): emptied when a new visit starts, capped, expiring a
        retention period after its last page, and erased with the visitor."""
        return f"{self._s(site)}:visitor:{visitor_id}:pages"

    def agents(self, site: str) -> str:
        """Set of agent ids that work this site."""
        return f"{self._s(site)}:agents"

    def agent_state(self, site: str, agent_id: str) -> str:
        """Hash: name, status, capacity, load, last_assigned, departments."""
        return f"{self._s(site)}:agent:{agent_id}"

    def agent_conversations(self, site: str, agent_id: str) -> str:
        """Set of conversation ids the agent holds now (its size is the true load)."""
        return f"{self._s(site)}:agent:{agent_id}:convs"

    def timers(self, site: str) -> str:
        """Sorted set of durable timers 'kind|subject' -> due time (ms); see timers.py."""
        return f"{self._s(site)}:timers"

    def latency(self, site: str) -> str:
        """Stream of latency records (wait, first response, response, resolution), capped."""
        return f"{self._s(site)}:latency"

    def conversation_index(self, site: str) -> str:
        """Sorted set conv_id -> created_at of every conversation (the supervisors' search)."""
        return f"{self._s(site)}:convs"

    def message_counts(self, site: str) -> str:
        """Hash kind (visitor|agent|bot) -> messages stored since the start (for /metrics)."""
        return f"{self._s(site)}:msgcount"

    def metrics_cursor(self, site: str) -> str:
        """String: the last latency record folded into the buckets below."""
        return f"{self._s(site)}:metrics:cursor"

    def metrics_histograms(self, site: str) -> str:
        """Hash 'kind|le' -> count since the start, plus 'kind|sum' and 'kind|count' (ms)."""
        return f"{self._s(site)}:metrics:hist"

    def metrics_hour(self, site: str, hour: int) -> str:
        """List of the latency records whose time falls in ``hour`` (ms // 3600000)."""
        return f"{self._s(site)}:metrics:h:{hour}"

    def metrics_minute(self, site: str, minute: int) -> str:
        """Hash gauge -> highest value sampled in ``minute`` (ms // 60000): queue length..."""
        return f"{self._s(site)}:metrics:m:{minute}"

    def feed(self, site: str) -> str:
        """Stream: the site's public events (chatserver.feed), while it has webhooks."""
        return f"{self._s(site)}:feed"

    def feed_keys(self, site: str) -> list[str]:
        """The last two KEYS of every script that records a change in the feed: the site's
        hash (whose ``feed`` setting says whether to) and the feed stream."""
        return [self.site(site), self.feed(site)]

    def webhooks(self, site: str) -> str:
        """Hash endpoint id -> the endpoint's settings (JSON: url, secret, events, …)."""
        return f"{self._s(site)}:webhooks"

    def webhook_state(self, site: str, endpoint_id: str) -> str:
        """Hash: cursor (last feed id done), delivered, failures, last status and error,
        failing_since (ms the event at the head first failed), attempts."""
        return f"{self._s(site)}:webhook:{endpoint_id}:state"

    def webhook_lease(self, site: str, endpoint_id: str) -> str:
        """String: the node delivering to the endpoint now (expires unless renewed)."""
        return f"{self._s(site)}:webhook:{endpoint_id}:lease"

    def webhook_dead(self, site: str, endpoint_id: str) -> str:
        """List of JSON records of events given up on (the dead letters), oldest first."""
        return f"{self._s(site)}:webhook:{endpoint_id}:dead"

    def visitor_presence(self, site: str, visitor_id: str) -> str:
        """Hash node id -> expiry (ms) for each node holding a socket of the visitor."""
        return f"{self._s(site)}:vpresence:{visitor_id}"

    def presence(self, site: str, agent_id: str) -> str:
        """String with a TTL, refreshed while the agent has a live socket."""
        return f"{self._s(site)}:presence:{agent_id}"

    def sender_limit(self, site: str, kind: str, sender_id: str) -> str:
        """Leases of one visitor's (or agent's) ``msgs`` or ``typing`` events in the site."""
        return f"{self._s(site)}:limit:{kind}:{sender_id}"

    def canned(self, site: str) -> str:
        """Hash shortcut -> text: the site's canned responses (``/shortcut`` in the composer)."""
        return f"{self._s(site)}:canned"

    def audit(self, site: str) -> str:
        """Stream of the site's audit log: supervisors' steps in conversations (fields ts,
        actor, name, action, conv, detail), capped at AUDIT_LENGTH entries."""
        return f"{self._s(site)}:audit"

    def identity(self, site: str) -> str:
        """Hash: the site's identity secret (``secret``) and when it was made (``rotated_at``,
        ms). Apart from the site's settings, which many readers see (supervisors' pages, the
        cached copy on every node): only admins and the identity check read this one."""
        return f"{self._s(site)}:identity"

    def ended_conversations(self, site: str) -> str:
        """Sorted set conv_id -> ended_at (ms) of ended conversations: what retention deletes
        once they are older than the site's retention (see retention.py)."""
        return f"{self._s(site)}:ended"

    def retention_state(self, site: str) -> str:
        """Hash: the retention job's progress (``backfill`` cursor over the conversation index
        for conversations that ended before the ``ended`` index existed, ``backfilled`` once
        done, ``deleted`` and ``visitors_deleted`` totals)."""
        return f"{self._s(site)}:retention"

    def retention_lease(self, site: str) -> str:
        """String with a TTL: the node running the site's retention now."""
        return f"{self._s(site)}:retention:lease"

    def erase_scratch(self, site: str, conv_id: str, run: str) -> str:
        """Stream: the tombstoned copy of a conversation that erasure ``run`` is building
        (privacy.py); its own per run, so two erasures at once never mix their copies, and
        it expires if the run dies."""
        return f"{self._s(site)}:erasing:{conv_id}:{run}"

    def visitor_emails(self, site: str) -> str:
        """Hash lower-cased e-mail -> space-separated ids of the visitors that gave it: how an
        export or erasure by e-mail finds a person without scanning every visitor."""
        return f"{self._s(site)}:emails"

    def verified_users(self, site: str) -> str:
        """Hash verified user id -> the visitor id that is theirs on the site: one visitor
        record per user, which every device and browser they sign in from continues."""
        return f"{self._s(site)}:users"

    # --- outgoing e-mail (chatserver/mail/; hash-tagged per site) ---------------------------
    def mail(self, site: str, mail_id: str) -> str:
        """Hash: one e-mail (to, subject, text, html, status, attempts, last_error, ...);
        expires some time after it was sent or given up on (store/mail.py)."""
        return f"{self._s(site)}:mail:{mail_id}"

    def mail_due(self, site: str) -> str:
        """Sorted set mail id -> when to try it (ms): new mail, and mail backing off."""
        return f"{self._s(site)}:mail:due"

    def mail_leases(self, site: str) -> str:
        """Sorted set mail id -> lease expiry (ms) of the mail a node is sending now; an
        expired lease (the node died) hands the mail to the next claim."""
        return f"{self._s(site)}:mail:leases"

    def mail_log(self, site: str) -> str:
        """Sorted set mail id -> created (ms): the Outbox page's list, capped."""
        return f"{self._s(site)}:mail:log"

    # --- agents' sign-in security (chatserver.two_factor, store/accounts_security.py) -----
    def two_factor(self, agent_id: str) -> str:
        """Hash: the agent's TOTP ``secret`` and ``enabled_at`` (ms), ``last_step`` (the
        last time step a code was accepted for: no code works twice), ``pending`` (a secret
        being set up, until confirmed) and ``rc:<digest>`` -> '1' per unused recovery code.
        Apart from the account hash, which every page and socket reads: only sign-in and
        the agent's own account page read this one."""
        return f"{self.prefix}:account:{agent_id}:2fa"

    def session_meta(self, agent_id: str) -> str:
        """Hash of the agent's sessions as the account page lists them: ``<digest>`` -> JSON
        {created, ip, ua} written at sign-in, ``<digest>:seen`` -> ms last used."""
        return f"{self.prefix}:account:{agent_id}:session_meta"

    def login_pending(self, token: str) -> str:
        """Hash: a sign-in whose password was right and whose second step (the code) is
        awaited; expires after a few minutes (chatserver.two_factor.PENDING_TTL_S)."""
        return f"{self.prefix}:login:pending:{token}"

    def audit_accounts(self) -> str:
        """Stream of failed sign-ins with an e-mail no account has (same fields as the
        sites' audit logs), capped at ACCOUNT_AUDIT_LENGTH: guesses cannot grow it."""
        return f"{self.prefix}:audit:accounts"

    def api_key_audited(self, site: str, key_id: str) -> str:
        """String with a one-minute TTL: the key's use was written to the audit log lately
        (at most one entry a minute per key, not one a request)."""
        return f"{self._s(site)}:audit:apikey:{key_id}"

    # --- file attachments (chatserver/files/) ------------------------------------------------
    def file(self, site: str, file_id: str) -> str:
        """Hash: one uploaded file's record (name, type, size, owner, conversation, message,
        the frame's metadata as JSON); its bytes live in the file storage, not in Redis."""
        return f"{self._s(site)}:file:{file_id}"

    def conversation_files(self, site: str, conv_id: str) -> str:
        """Set of the ids of the files the conversation's messages carry (deleted from the
        file storage with the conversation: retention and erasure)."""
        return f"{self._s(site)}:convfiles:{conv_id}"

    def pending_files(self, site: str) -> str:
        """Sorted set file id -> uploaded at (ms) of files no message has used yet; those
        left unused for a day are deleted (chatserver/files/cleanup.py)."""
        return f"{self._s(site)}:files:pending"

    def file_quota(self, site: str, uploader: str) -> str:
        """Sorted set of one uploader's uploads in the last hour: ``<file id>:<bytes>`` ->
        expiry (ms); the per-hour count and byte limits (lua/file_quota.lua)."""
        return f"{self._s(site)}:limit:files:{uploader}"

    def canned_files(self, site: str) -> str:
        """Hash shortcut -> JSON metadata of the file a canned response sends with its text
        (beside :meth:`canned`, so text-only entries read as before). Its bytes are in the
        file storage under its own id; no conversation's deletion touches them
        (chatserver/files/canned.py)."""
        return f"{self._s(site)}:canned:files"

    # --- canned responses: usage and each agent's personal set (store/canned.py) -----------
    def canned_uses(self, site: str) -> str:
        """Hash shortcut -> how often agents inserted that shared canned response."""
        return f"{self._s(site)}:canned:uses"

    def personal_canned(self, agent_id: str) -> str:
        """Hash shortcut -> text: one agent's own canned responses. Per account, not per
        site (it follows the agent), hash-tagged with :meth:`personal_canned_uses` so one
        script changes both in one Redis Cluster slot."""
        return f"{self.prefix}:{{account:{agent_id}}}:canned"

    def personal_canned_uses(self, agent_id: str) -> str:
        """Hash shortcut -> how often the agent inserted that personal canned response."""
        return f"{self.prefix}:{{account:{agent_id}}}:canned:uses"

    # --- conversation search (chatserver/search.py, store/search.py) -------------------------
    def search_todo(self, site: str) -> str:
        """Sorted set conv_id -> when a message was last stored in it (ms): conversations
        whose newest messages are not indexed yet. The scripts that store a message add to it
        in the same step, so a node that dies before indexing loses nothing."""
        return f"{self._s(site)}:ix:todo"

    def search_doc(self, site: str, conv_id: str) -> str:
        """String '<last indexed message id> <token> <token> ...': how far the conversation
        is indexed and every token it is posted under (what unindexing removes)."""
        return f"{self._s(site)}:ix:doc:{conv_id}"

    def search_postings_prefix(self, site: str) -> str:
        """What :meth:`search_postings` puts before the token (scripts that unindex a
        conversation build the names of its postings from the tokens they read)."""
        return f"{self._s(site)}:ix:t:"

    def search_postings(self, site: str, token: str) -> str:
        """Sorted set conv_id -> created_at (ms) of the conversations that hold ``token``."""
        return self.search_postings_prefix(site) + token

    def search_vocab(self, site: str) -> str:
        """Sorted set (all scores 0) of every token with postings: a last word's prefix
        expands through it (ZRANGEBYLEX)."""
        return f"{self._s(site)}:ix:vocab"

    def search_state(self, site: str) -> str:
        """Hash: the backfill's ``cursor`` over the conversation index and ``backfilled``."""
        return f"{self._s(site)}:ix:state"

    def search_lease(self, site: str) -> str:
        """String with a TTL: the node indexing the site now."""
        return f"{self._s(site)}:ix:lease"

    # --- conversation labels (chatserver/store/labels.py) -----------------------------------
    def labels(self, site: str) -> str:
        """Hash label id -> JSON {name, color, key}: the site's labels (core/labels.py). A
        conversation's own labels are its hash's ``labels`` field (space separated ids)."""
        return f"{self._s(site)}:labels"

    def label_names(self, site: str) -> str:
        """Hash name key (core/labels.name_key) -> label id: what keeps names unique."""
        return f"{self._s(site)}:labels:names"

    # --- the site-wide notice (chatserver/store/notices.py) --------------------------------
    def notice(self, site: str) -> str:
        """String: the site's notice (JSON, core/notices.py), expiring with it (PEXPIREAT)."""
        return f"{self._s(site)}:notice"

    # --- help articles (chatserver/store/articles.py) ----------------------------------------
    def articles(self, site: str) -> str:
        """Hash article id -> JSON record (core/articles.py): the site's help articles."""
        return f"{self._s(site)}:articles"

    def article_deflections(self, site: str) -> str:
        """Hash day start (ms, the site's day) -> visitors an article answered that day."""
        return f"{self._s(site)}:articles:deflected"
