"""The Slack adapter: Bolt listeners over ``CharonService``, parameter forms, and live run status in threads.

``app`` assembles it (Socket Mode or HTTP events), ``listeners`` acknowledge and hand work to ``handlers``,
``answers`` say things back, ``notifier`` keeps each run's status message current, ``sender`` is the only
writer to Slack, ``modals`` and ``blocks`` turn models and templates into Block Kit.
"""
