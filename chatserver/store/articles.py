"""Help articles: one hash per site, article id -> its JSON record (chatserver/core/articles.py
says what a record holds). Creating one checks the site's limit where it writes
(lua/article_save.lua); reading, listing and search read the whole hash, which the limit
keeps small (see core/articles.py for why search scans it).
"""

from __future__ import annotations

from dataclasses import replace

from chatserver.core.articles import MAX_ARTICLES, Article, decode, encode, site_articles
from chatserver.store.base import StoreBase, StoreError, new_id


class ArticleStore(StoreBase):
    async def articles(self, site: str) -> list[Article]:
        """Every article of the site, drafts too, by category then title."""
        stored: dict[str, str] = await self.r.hgetall(self.k.articles(site))
        return site_articles(stored)

    async def article(self, site: str, article_id: str) -> Article | None:
        raw: str | None = await self.r.hget(self.k.articles(site), article_id)
        return None if raw is None else decode(article_id, raw)

    async def save_article(self, site: str, article: Article) -> str:
        """Create ``article`` (its id '') or replace the one with its id; its fields are
        already clean (core/articles.py). Returns its id; raises StoreError('not_found' |
        'too_many')."""
        mode = "update" if article.id else "create"
        if not article.id:
            article = replace(article, id=new_id("a"))
        res = await self.scripts.run(
            "article_save",
            [self.k.articles(site)],
            [article.id, mode, encode(article), MAX_ARTICLES],
        )
        if res[0] != "ok":
            raise StoreError(str(res[1]))
        return article.id

    async def delete_article(self, site: str, article_id: str) -> bool:
        """Delete an article; False when the site has no such article."""
        return bool(await self.r.hdel(self.k.articles(site), article_id))

    async def count_deflection(self, site: str, day: int) -> int:
        """One more visitor answered by an article on ``day`` (its start, ms); the day's count."""
        return int(await self.r.hincrby(self.k.article_deflections(site), str(day), 1))

    async def deflections(self, site: str, day: int) -> int:
        """How many visitors said an article answered them on ``day`` (its start, ms)."""
        return int(await self.r.hget(self.k.article_deflections(site), str(day)) or 0)
