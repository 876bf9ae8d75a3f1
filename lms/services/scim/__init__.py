"""SCIM 2.0 provisioning for an organisation's identity provider (DESIGN.md sections 3 and 6), built on
scim2-models: the resources served (resources), bearer tokens (tokens), Users (users, with what a
provider's User means here in meaning) and filters as SQL (filters)."""
