"""Lane output for a port: events to the site's MQTT broker through a durable outbox
(:mod:`.mqtt`, :mod:`.outbox`), the site-wide subscriber (:mod:`.subscribe`) and Prometheus
metrics per lane (:mod:`.metrics`).  Needs the ``console`` extra (paho-mqtt,
prometheus_client); ``import lanecam`` does not load it."""
