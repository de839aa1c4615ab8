"""The senders' user pool: who a staff member's access token belongs to.

The sender API takes Cognito **access tokens** (scoped methods; see :data:`tachiai.names.USER_SCOPE`),
which carry ``sub``, ``username`` and ``cognito:groups`` but not the email or the name the envelope
needs. :class:`UserDirectory` reads them with ``AdminGetUser`` once per user and warm container, and
only for a verified email: the address every envelope, seal and audit entry names as the sender.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from tachiai.domain.errors import EmailNotVerified, Forbidden, TachiaiError

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient


class DirectoryUnavailable(TachiaiError):
    code = "directory_unavailable"
    http_status = 503
    message_ja = "利用者情報を確認できませんでした。しばらくしてから再試行してください。"
    message_en = "Your account could not be checked just now. Please retry shortly."


@dataclass(frozen=True)
class StaffMember:
    username: str
    email: str
    name: str


class UserDirectory:
    def __init__(self, client: CognitoIdentityProviderClient, user_pool_id: str) -> None:
        self._client = client
        self._pool = user_pool_id
        self._known: dict[str, StaffMember] = {}

    def member(self, username: str) -> StaffMember:
        """The staff member signed in as ``username``.

        :raises Forbidden: no such user, disabled, or without an email address.
        :raises EmailNotVerified: the user's email is not verified (``email_verified`` is not true).
        :raises DirectoryUnavailable: Cognito did not answer.
        """
        if username in self._known:
            return self._known[username]
        try:
            user = self._client.admin_get_user(UserPoolId=self._pool, Username=username)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == "UserNotFoundException":
                raise Forbidden("user not in the pool") from e
            raise DirectoryUnavailable(e.response.get("Error", {}).get("Code", "")) from e
        except BotoCoreError as e:
            raise DirectoryUnavailable(type(e).__name__) from e
        if not user.get("Enabled", True):
            raise Forbidden("user disabled")
        attributes = {a["Name"]: a.get("Value", "") for a in user.get("UserAttributes", [])}
        email = attributes.get("email", "")
        if not email:
            raise Forbidden("user without an email")
        if attributes.get("email_verified", "").lower() != "true":
            # Not remembered: once the address is verified, the next request goes through.
            raise EmailNotVerified(f"{username}: email not verified")
        member = StaffMember(username=username, email=email, name=attributes.get("name") or email)
        self._known[username] = member
        return member
