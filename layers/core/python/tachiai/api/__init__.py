"""The HTTP faces of tachiai: the sender REST API and the recipient's link routes (Powertools resolvers).

Routes are registered from :data:`tachiai.names.ROUTES`, the table CDK builds API Gateway from, so the
API a function serves and the API that reaches it cannot drift apart.
"""
