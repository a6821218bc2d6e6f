"""The chat service refuses bad text itself, whatever the transport: platform chat reaches it
without REST's or Socket.IO's checks."""

import pytest

from app.auth.tokens import Principal
from app.chat.schemas import ChatSend
from app.chat.service import chat_service
from app.kit.errors import InvalidInput
from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.models.user import Role


@pytest.mark.parametrize("bad", ["gg\x00", "a\x1bb", "two\nlines", "\ud800"])
async def test_text_with_control_characters_is_refused_before_anything_is_sent(
    resources: Resources, bad: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        async with unit_of_work(resources) as session:
            await chat_service.send(
                session,
                resources,
                Principal(user_id=1, role=Role.user),
                ChatSend(channel=1, text=bad),
            )
    assert refused.value.code == "validation_error"
    assert refused.value.details == {"field": "text"}
