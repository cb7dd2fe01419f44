"""Human users: local accounts, roles per tenant, sessions, and OpenID Connect sign-in.

``passwords`` hashes (scrypt), ``roles`` says what each role may do and who a caller is
(``Principal``), ``store`` owns the users and memberships, ``sessions`` owns logins and their
rotating refresh tokens, ``oidc`` checks an identity provider's tokens, and ``service`` is the
one door the API uses.
"""
