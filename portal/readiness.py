"""Whether this server can serve: the database answers and has every migration applied, and Redis
answers where REDIS_URL is set. /readyz answers with it, and /metrics reports it (portal_ready)."""

import logging

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor

logger = logging.getLogger(__name__)


def checks():
    """Each check's result, "ok" or what failed; migrations are not asked without a database."""
    results = {"database": _database_check()}
    if results["database"] == "ok":
        results["migrations"] = _migrations_check()
    if settings.REDIS_URL:
        results["redis"] = _redis_check()
    return results


def ready(results):
    return all(result == "ok" for result in results.values())


def _database_check():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as error:  # the reason is for the log: it may name hosts and users
        logger.warning("Readiness: the database does not answer: %s", type(error).__name__)
        return "unreachable"
    return "ok"


_migrated = False  # once every migration is applied, this code's stay applied: not asked again


def _migrations_check():
    global _migrated
    if not _migrated:
        try:
            executor = MigrationExecutor(connection)
            _migrated = not executor.migration_plan(executor.loader.graph.leaf_nodes())
        except DatabaseError as error:
            logger.warning("Readiness: the migrations could not be read: %s", type(error).__name__)
            return "unreachable"
    return "ok" if _migrated else "unapplied"


_redis = None


def _redis_check():
    global _redis
    if _redis is None:
        timeout = settings.READINESS_TIMEOUT
        _redis = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=timeout, socket_connect_timeout=timeout
        )
    try:
        _redis.ping()
    except redis.RedisError as error:
        logger.warning("Readiness: Redis does not answer: %s", type(error).__name__)
        return "unreachable"
    return "ok"
