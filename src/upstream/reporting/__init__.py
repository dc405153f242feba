"""The reporting layer: plain-language sentences computed from numbers (``sentences``), plots with a
takeaway title (``plots``), privacy (``privacy``: escaping, redaction, pseudonyms), what a notebook
displays (``notebook``) and the HTML templates. It reads analysis results; nothing imports it but
studies, notebooks and the runner."""
