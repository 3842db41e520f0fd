"""Single sign-on: identity providers per company, LDAP/AD sign-in, group-to-role mapping."""
