"""Names shared by the CDK app and the runtime (cloud and local): one definition, no second copy.

Environment variable names, the functions and their handler strings, and the API route table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# --- environment variables (set by CDK on each function; set once by the local runtime) -------------
ENV_TABLE = "TACHIAI_TABLE"
ENV_BUCKET = "TACHIAI_BUCKET"
ENV_STATE_MACHINE_ARN = "TACHIAI_STATE_MACHINE_ARN"
ENV_SEAL_KEY_ID = "TACHIAI_SEAL_KEY_ID"
ENV_SEAL_BACKEND = "TACHIAI_SEAL_BACKEND"
"""Where the seal key is: ``kms`` (default: :data:`ENV_SEAL_KEY_ID`) or ``pkcs11`` (an HSM: the
``TACHIAI_PKCS11_*`` variables; AWS CloudHSM in the cloud, SoftHSM2 in tests)."""
ENV_PKCS11_LIBRARY = "TACHIAI_PKCS11_LIBRARY"
"""The PKCS#11 module's path (CloudHSM Client SDK 5: ``/opt/cloudhsm/lib/libcloudhsm_pkcs11.so``)."""
ENV_PKCS11_TOKEN_LABEL = "TACHIAI_PKCS11_TOKEN_LABEL"  # noqa: S105 - a variable name, not a secret
"""The label of the token holding the seal key (CloudHSM Client SDK 5: ``hsm1``)."""
ENV_PKCS11_KEY_LABEL = "TACHIAI_PKCS11_KEY_LABEL"
"""``CKA_LABEL`` of the seal's private key in the token."""
ENV_PKCS11_PIN_SECRET = "TACHIAI_PKCS11_PIN_SECRET"  # noqa: S105 - a variable name, not a secret
"""Name or ARN of the Secrets Manager secret whose value is the token's user PIN (CloudHSM:
``<crypto user>:<password>``): the PIN itself is never in the environment."""
ENV_SEAL_CHAIN_PARAMETER = "TACHIAI_SEAL_CHAIN_PARAMETER"
"""SSM parameter holding the seal certificate chain (PEM, seal certificate first)."""
ENV_TRUST_ROOTS_PARAMETER = "TACHIAI_TRUST_ROOTS_PARAMETER"
"""SSM parameter holding the roots a fresh seal must chain to (PEM)."""
ENV_TSA_URLS = "TACHIAI_TSA_URLS"
"""Comma-separated TSA URLs, tried in order."""
ENV_TSA_AUTH_SECRETS = "TACHIAI_TSA_AUTH_SECRETS"
"""JSON object ``{TSA URL: Secrets Manager secret name or ARN}`` of the TSAs that need credentials
(basic authentication or a TLS client certificate); TSAs not in it are asked without."""
ENV_MAIL_FROM = "TACHIAI_MAIL_FROM"
ENV_MAIL_CONFIGURATION_SET = "TACHIAI_MAIL_CONFIGURATION_SET"
ENV_PUBLIC_URL = "TACHIAI_PUBLIC_URL"
"""Base URL of the API as recipients see it (links in mail)."""
ENV_TIME_ZONE = "TACHIAI_TIME_ZONE"
ENV_SERVICE_NAME = "TACHIAI_SERVICE_NAME"
ENV_SEAL_FUNCTION = "TACHIAI_SEAL_FUNCTION"
"""Name or ARN of the seal function (the send API invokes it to prepare documents)."""
ENV_EXTRACT_FUNCTION = "TACHIAI_EXTRACT_FUNCTION"
"""Name or ARN of the ai_extract function (the send API invokes it, asynchronously, for an import)."""
ENV_MAX_DOCUMENT_BYTES = "TACHIAI_MAX_DOCUMENT_BYTES"
ENV_DOWNLOAD_LINK_DAYS = "TACHIAI_DOWNLOAD_LINK_DAYS"
ENV_EXTRACTION_ENGINE = "TACHIAI_EXTRACTION_ENGINE"
"""Which engine extracts contract metadata: ``rules`` (the default, no AWS call) or ``bedrock``."""
ENV_BEDROCK_MODEL_ID = "TACHIAI_BEDROCK_MODEL_ID"
"""Bedrock model (or inference profile) id of the ``bedrock`` extraction engine."""
ENV_ALERT_DAYS = "TACHIAI_ALERT_DAYS"
"""Comma-separated days before a notice deadline or an expiry on which the owner is mailed ("60,30,7")."""
ENV_USER_POOL_ID = "TACHIAI_USER_POOL_ID"
"""The Cognito user pool of the senders (the send function looks up a caller's email and name)."""
ENV_INTEGRATION_EMAIL = "TACHIAI_INTEGRATION_EMAIL"
"""Who receives the notices of envelopes sent by an API integration (client credentials)."""
ENV_LOGIN_URL = "TACHIAI_LOGIN_URL"
"""The user pool's managed login domain (``https://<prefix>.auth.<region>.amazoncognito.com``): the OAuth
URLs of the served OpenAPI document. Unset, the document gives the paths alone (``/oauth2/token``), which
is where ``tachiai local`` serves them."""
ENV_LOGIN_CLIENT_ID = "TACHIAI_LOGIN_CLIENT_ID"
"""The people's app client (authorization code + PKCE) the console signs in with (the same client as
``tachiai login``; its callback and sign-out URLs include the console's)."""
ENV_LOCAL_USER_STORE = "TACHIAI_LOCAL_USER_STORE"
"""``tachiai local`` only: the file of the local user store, which stands in for the user pool."""
ENV_STACK_NAME = "TACHIAI_STACK_NAME"
"""The stack's name: the ``stack`` dimension of tachiai's metrics (:mod:`tachiai.observability`). Set by
CDK on every function; unset (the local runtime, tests), no metric is emitted."""

FunctionName = Literal["send", "agree", "seal", "ai_extract", "certificate"]

STATE_MACHINE_DEFINITION = "infra/statemachine/signing_chain.asl.json"
"""The one signing-chain definition (relative to the repository root), for CDK and the local runtime."""
STATE_MACHINE_SUBSTITUTIONS: dict[str, FunctionName] = {
    "SendFunctionArn": "send",
    "SealFunctionArn": "seal",
    "ExtractFunctionArn": "ai_extract",
}
"""``${placeholder}`` in the definition → the function whose ARN fills it."""


def handler_module_file(handler: str) -> str:
    """The file, relative to the code folder, that Lambda imports for a handler string
    (``handler.handler`` → ``handler.py``; ``app.main.run`` → ``app/main.py``)."""
    return handler.rpartition(".")[0].replace(".", "/") + ".py"


@dataclass(frozen=True)
class FunctionSpec:
    name: FunctionName
    code_dir: str
    """Folder, relative to the repository root, that is the function's code asset."""
    handler: str
    """Lambda handler string, resolved inside ``code_dir`` exactly as Lambda does."""


FUNCTIONS: dict[FunctionName, FunctionSpec] = {
    "send": FunctionSpec("send", "functions/send", "handler.handler"),
    "agree": FunctionSpec("agree", "functions/agree", "handler.handler"),
    "seal": FunctionSpec("seal", "functions/seal", "handler.handler"),
    "ai_extract": FunctionSpec("ai_extract", "functions/ai_extract", "handler.handler"),
}
"""The functions of the API and the signing chain. ``ai_extract`` is the contract ledger's: the chain's
Extract step, an import's extraction, and the daily deadline alerts (:data:`ALERTS_EVENT`)."""

ALERTS_EVENT = {"task": "alerts"}
"""What the daily schedule sends the ``ai_extract`` function (EventBridge in the cloud)."""
ALERTS_SCHEDULE_CRON = {"minute": "0", "hour": "0"}
"""Once a day at 00:00 UTC (09:00 in Japan): the deadline alerts."""
ASYNC_RETRY_ATTEMPTS = 2
"""Lambda's retries of a failed asynchronous invocation (an import's extraction, a scheduled run) before
the event goes to the failures queue: the stack's event invoke config, and the local runtime's dispatch."""
REMINDERS_EVENT = {"task": "reminders"}
"""What the reminders schedule sends the ``send`` function (EventBridge in the cloud)."""
REMINDERS_SCHEDULE_MINUTES = 60
"""The automatic reminders run every hour: each participant's reminder falls due N days after their
own last mail (any hour of the day), so a daily run would hold a reminder back up to a day and send
them all at once; an hourly run costs one small index query when nothing is due."""

CERTIFICATE_FUNCTION = FunctionSpec("certificate", "functions/certificate", "handler.handler")
"""The CloudFormation custom resource that gives a fresh stack a self-issued seal certificate
(:func:`tachiai.sealing.self_issued.ensure_seal_certificate`); runs at deploy time only."""


RESOURCE_SERVER_ID = "tachiai-api"
"""The Cognito resource server of the sender API; its scopes are ``tachiai-api/envelopes.read|write``."""
API_SCOPES: dict[str, str] = {
    "envelopes.read": "Read envelopes, search the ledger and download completed documents",
    "envelopes.write": "Create, send, remind, cancel, correct and import envelopes",
}
USER_SCOPE = "aws.cognito.signin.user.admin"
"""Cognito's self-service scope (every token from its sign-in APIs carries it): accepted on every route.
People signing in on the managed login pages get :data:`LOGIN_SCOPES` instead."""

LOGIN_SCOPES: tuple[str, ...] = (
    "openid",
    "email",
    "profile",
    *(f"{RESOURCE_SERVER_ID}/{n}" for n in API_SCOPES),
)
"""What a person's sign-in (authorization code + PKCE, ``tachiai login`` and the console) asks for and
gets: the deployed login client allows exactly these, so asking it for :data:`USER_SCOPE` fails
(``invalid_scope``). Never USER_SCOPE, because for federation that client may write the mapped email
and name, and a self-service token could then rename its own user (infra/constructs/auth.py)."""
CONSOLE_CALLBACK_PATH = "/app/callback"
CONSOLE_SIGNED_OUT_PATH = "/app/signed-out"
"""Below the public URL: where the managed login pages send the console back, signed in or out."""
CLI_CALLBACK_PORT = 8976
CLI_CALLBACK_URL = f"http://localhost:{CLI_CALLBACK_PORT}/callback"
"""Where the sign-in sends ``tachiai login``'s authorization code: a loopback listener of the CLI. An
exact callback URL of the people app client (Cognito matches callback URLs exactly, port included)."""


@dataclass(frozen=True)
class Route:
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    path: str
    """API Gateway resource path, with ``{name}`` parameters."""
    function: FunctionName
    public: bool
    """Recipient routes are public (the token in the path is the credential), and so is the sender API's
    OpenAPI document; every other sender route needs a Cognito access token."""

    @property
    def scopes(self) -> tuple[str, ...]:
        """The OAuth scopes of which an access token must carry one (none for public routes).

        A staff member's token (:data:`USER_SCOPE`) passes everywhere; an integration's needs
        ``envelopes.read`` to read and ``envelopes.write`` for anything else.
        """
        if self.public:
            return ()
        scope = "envelopes.read" if self.method == "GET" else "envelopes.write"
        return (f"{RESOURCE_SERVER_ID}/{scope}", USER_SCOPE)


ROUTES: tuple[Route, ...] = (
    Route("GET", "/v1/openapi.json", "send", public=True),  # the API's contract: for anyone to read
    Route("POST", "/v1/envelopes", "send", public=False),
    Route("GET", "/v1/envelopes", "send", public=False),
    Route("GET", "/v1/envelopes/{envelope_id}", "send", public=False),
    Route("POST", "/v1/envelopes/{envelope_id}/send", "send", public=False),
    Route("POST", "/v1/envelopes/{envelope_id}/remind", "send", public=False),
    Route("POST", "/v1/envelopes/{envelope_id}/cancel", "send", public=False),
    Route("GET", "/v1/envelopes/{envelope_id}/downloads", "send", public=False),
    Route("PATCH", "/v1/envelopes/{envelope_id}/metadata", "send", public=False),
    Route("POST", "/v1/envelopes/{envelope_id}/metadata/extract", "send", public=False),
    Route("POST", "/v1/imports", "send", public=False),
    Route("POST", "/v1/imports/{envelope_id}/complete", "send", public=False),
    Route("GET", "/v1/templates", "send", public=False),
    Route("POST", "/v1/templates", "send", public=False),
    Route("GET", "/v1/templates/{template_id}", "send", public=False),
    Route("PUT", "/v1/templates/{template_id}", "send", public=False),
    Route("DELETE", "/v1/templates/{template_id}", "send", public=False),
    Route("PATCH", "/v1/envelopes/{envelope_id}", "send", public=False),
    Route("DELETE", "/v1/envelopes/{envelope_id}", "send", public=False),
    Route("POST", "/v1/envelopes/{envelope_id}/resend", "send", public=False),
    Route("POST", "/v1/envelopes/{envelope_id}/participants/{participant_id}/reissue", "send", public=False),
    Route("GET", "/v1/me", "send", public=False),
    Route("GET", "/v1/users", "send", public=False),
    Route("POST", "/v1/users", "send", public=False),
    Route("POST", "/v1/users/{username}/disable", "send", public=False),
    Route("POST", "/v1/users/{username}/enable", "send", public=False),
    Route("PUT", "/v1/users/{username}/role", "send", public=False),
    # The sender console (tachiai.console): pages, public at API Gateway (a browser has no bearer
    # token); every page checks its own session cookie.
    Route("GET", "/app", "send", public=True),
    Route("GET", "/app/sign-in", "send", public=True),
    Route("GET", "/app/callback", "send", public=True),
    Route("POST", "/app/sign-out", "send", public=True),
    Route("GET", "/app/signed-out", "send", public=True),
    Route("GET", "/app/static/{name}", "send", public=True),
    Route("GET", "/app/ledger", "send", public=True),
    Route("GET", "/app/ledger.csv", "send", public=True),
    Route("GET", "/app/ledger/upcoming", "send", public=True),
    Route("GET", "/app/ledger/import", "send", public=True),
    Route("POST", "/app/ledger/import", "send", public=True),
    Route("GET", "/app/ledger/{envelope_id}", "send", public=True),
    Route("POST", "/app/ledger/{envelope_id}", "send", public=True),
    Route("POST", "/app/ledger/{envelope_id}/extract", "send", public=True),
    Route("GET", "/app/ledger/{envelope_id}/files/{index}", "send", public=True),
    Route("GET", "/app/envelopes/{envelope_id}", "send", public=True),
    Route("POST", "/app/envelopes/{envelope_id}/remind", "send", public=True),
    Route("GET", "/app/envelopes/{envelope_id}/cancel", "send", public=True),
    Route("POST", "/app/envelopes/{envelope_id}/cancel", "send", public=True),
    Route("POST", "/app/envelopes/{envelope_id}/resend", "send", public=True),
    Route("POST", "/app/envelopes/{envelope_id}/participants/{participant_id}/reissue", "send", public=True),
    Route("GET", "/app/envelopes/{envelope_id}/files/{number}", "send", public=True),
    Route("GET", "/app/envelopes/{envelope_id}/audit.csv", "send", public=True),
    Route("GET", "/app/envelopes/{envelope_id}/signatures", "send", public=True),
    Route("GET", "/app/new", "send", public=True),
    Route("POST", "/app/new", "send", public=True),
    Route("POST", "/app/new/complete", "send", public=True),
    Route("GET", "/app/envelopes/{envelope_id}/preview", "send", public=True),
    Route("GET", "/app/envelopes/{envelope_id}/documents/{document_id}/pages/{page}", "send", public=True),
    Route("GET", "/app/templates", "send", public=True),
    Route("GET", "/app/templates/new", "send", public=True),
    Route("POST", "/app/templates", "send", public=True),
    Route("GET", "/app/templates/{template_id}", "send", public=True),
    Route("GET", "/app/templates/{template_id}/edit", "send", public=True),
    Route("POST", "/app/templates/{template_id}/edit", "send", public=True),
    Route("GET", "/app/templates/{template_id}/delete", "send", public=True),
    Route("POST", "/app/templates/{template_id}/delete", "send", public=True),
    Route("GET", "/app/members", "send", public=True),
    Route("POST", "/app/members", "send", public=True),
    Route("POST", "/app/members/{username}/role", "send", public=True),
    Route("POST", "/app/members/{username}/disable", "send", public=True),
    Route("POST", "/app/members/{username}/enable", "send", public=True),
    Route("GET", "/s/{token}", "agree", public=True),
    Route("POST", "/s/{token}/open", "agree", public=True),
    Route("GET", "/s/{token}/documents/{document_id}", "agree", public=True),
    Route("POST", "/s/{token}/agree", "agree", public=True),
    Route("POST", "/s/{token}/reject", "agree", public=True),
    Route("POST", "/s/{token}/forward", "agree", public=True),
    Route("GET", "/s/{token}/certificate", "agree", public=True),
)

UPLOAD_CORS_METHODS: tuple[str, ...] = ("POST",)
"""What the documents bucket's CORS rule lets the console's own origin do: POST a presigned form (the
new-envelope page's direct upload, read by script for its progress). The deployed bucket's rule
(infra/constructs/storage.py) and the local runtime's S3 (tachiai/local/guard.py) answer the same."""
UPLOAD_CORS_MAX_AGE_S = 3000
"""Seconds a browser may keep the bucket's preflight answer."""
UPLOAD_CHECKSUM_FIELD = "Content-MD5"
"""The form field every presigned POST must carry: the file's MD5, base64 (RFC 1864). The documents
bucket has Object Lock default retention, and S3 takes no upload into such a bucket without an integrity
checksum; a browser form is no SDK, so nothing adds one for it. The POST policy names the field
(tachiai/adapters/s3.py), the uploaders add it (static/upload.js, tachiai/local/client.py), and the local
runtime's S3 checks it as S3 does (tachiai/local/guard.py). docs/operations/uploads.md says why MD5."""
