"""CRM connectors: a business's CRM kept in step with its leads, fed by the domain-event log.

A connector is an `agent.events.subscriber.Subscriber` that declares the events it needs
(`EVENTS`); `registry.build_connector` makes one from its stored config. HubSpot is the first;
Pipedrive or Salesforce add a module and a registry line."""
