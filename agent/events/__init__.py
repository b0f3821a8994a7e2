"""Domain events: what happened to a business's leads, for its own systems (signed webhooks) and
its CRM (connectors). `log.emit` writes them in the transaction of the change they report."""
