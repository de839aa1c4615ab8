"""Use cases: what the handlers call, one function per thing a person or the state machine does.

No boto3 here: storage, queues and mail come from :class:`~tachiai.services.context.Services`, whose
adapters are the only code that talks to AWS.
"""
