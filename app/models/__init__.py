"""All ORM models, imported here so that Alembic sees one complete metadata."""

from app.models.acls import Acl
from app.models.audit import AuditRecord
from app.models.base import Base
from app.models.clusters import Cluster
from app.models.consumer_groups import ConsumerGroupAction, ConsumerGroupLagSample
from app.models.idempotency import IdempotencyRecord
from app.models.operations import Operation
from app.models.projects import Project
from app.models.status import ResourceStatus
from app.models.tokens import Token
from app.models.topics import Topic
from app.models.users import User

__all__ = [
    "Acl",
    "AuditRecord",
    "Base",
    "Cluster",
    "ConsumerGroupAction",
    "ConsumerGroupLagSample",
    "IdempotencyRecord",
    "Operation",
    "Project",
    "ResourceStatus",
    "Token",
    "Topic",
    "User",
]
