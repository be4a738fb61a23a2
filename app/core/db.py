"""The database session boundary of a request.

A request gets one AsyncSession inside one transaction. Services add and flush but never commit;
the boundary commits once the endpoint returned, then runs the session's after-commit callbacks
(the Celery messages), which are dropped if the transaction rolls back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

AfterCommit = Callable[[], Awaitable[None]]


def make_engine(url: str, pool_size: int = 20) -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=20,
        pool_pre_ping=False,
        pool_recycle=1800,
        # The API's statements are few and fixed; asyncpg caches their plans per connection.
        connect_args={"server_settings": {"application_name": "kplane-api"}, "timeout": 5},
    )


def make_sessionmaker(bind: Any, **kwargs: Any) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(bind=bind, expire_on_commit=False, autoflush=False, **kwargs)


def after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run `callback` once the request's transaction has committed (never if it rolls back)."""
    session.info.setdefault("after_commit", []).append(callback)


async def run_after_commit(session: AsyncSession) -> None:
    callbacks: list[AfterCommit] = session.info.pop("after_commit", [])
    for callback in callbacks:
        await callback()


def sessionmaker_of(request: Request) -> async_sessionmaker[AsyncSession]:
    factory: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return factory


def read_sessionmaker_of(request: Request) -> async_sessionmaker[AsyncSession]:
    """Sessions for reads: autocommit, so a GET costs its SELECTs and no BEGIN/COMMIT."""
    factory: async_sessionmaker[AsyncSession] = getattr(
        request.app.state, "read_sessionmaker", request.app.state.sessionmaker
    )
    return factory


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: commit after the endpoint, roll back on any error.

    A successful mutation's audit record is added here, so that it commits with the mutation.
    """
    from app.core import audit  # audit needs sessionmaker_of from this module

    if request.method in ("GET", "HEAD"):
        async with read_sessionmaker_of(request)() as session:
            yield session
        return
    factory = sessionmaker_of(request)
    async with factory() as session:
        try:
            yield session
            audit.record_success(session, request)
            await session.commit()
        except BaseException:
            await session.rollback()
            session.info.pop("after_commit", None)
            raise
    await run_after_commit(session)


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
