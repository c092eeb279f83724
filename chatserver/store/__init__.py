"""The Redis store: the only part of the server that talks to Redis.

Single-key reads and writes are plain commands; every step that touches several keys is one
Lua script (see `chatserver/lua/`). Key names come from :mod:`chatserver.keys`. The store is
one class assembled from one module per concern.
"""

from __future__ import annotations

from chatserver.store.accounts_security import AccountSecurityStore
from chatserver.store.admin import AdminStore
from chatserver.store.agents import AgentStore
from chatserver.store.api_keys import ApiKeyStore
from chatserver.store.articles import ArticleStore
from chatserver.store.audit import AuditStore
from chatserver.store.base import MAPS, StoreError, new_id, now_ms
from chatserver.store.canned import CannedStore
from chatserver.store.console import ConsoleStore
from chatserver.store.conversations import ConversationStore
from chatserver.store.dashboard import DashboardStore
from chatserver.store.exports import ExportStore
from chatserver.store.feedback import FeedbackStore
from chatserver.store.files import FileStore
from chatserver.store.identity import IdentityStore
from chatserver.store.labels import LabelStore
from chatserver.store.lifecycle import LifecycleStore
from chatserver.store.limits import LimitStore
from chatserver.store.mail import MailStore
from chatserver.store.notices import NoticeStore
from chatserver.store.privacy import PrivacyStore
from chatserver.store.retention import RetentionStore
from chatserver.store.search import SearchStore
from chatserver.store.sites import SiteStore
from chatserver.store.supervision import SupervisionStore
from chatserver.store.webhooks import WebhookStore

__all__ = ["MAPS", "Store", "StoreError", "new_id", "now_ms"]


class Store(
    ExportStore,
    DashboardStore,
    ConsoleStore,
    CannedStore,
    AdminStore,
    FeedbackStore,
    ConversationStore,
    LifecycleStore,
    LimitStore,
    AgentStore,
    SiteStore,
    ApiKeyStore,
    WebhookStore,
    SupervisionStore,
    IdentityStore,
    AccountSecurityStore,
    AuditStore,
    MailStore,
    RetentionStore,
    PrivacyStore,
    FileStore,
    SearchStore,
    LabelStore,
    NoticeStore,
    ArticleStore,
):
    """Every Redis operation the server performs."""
