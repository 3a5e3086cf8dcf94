"""Secrets out of what sources say about jobs and runs: values named like a password, secret,
token or key (a Spark application's ``--conf`` and properties, an MLflow run's parameters), the
arguments after such an option, and credentials in URLs.

>>> redact_command("SparkSubmit --conf spark.hadoop.fs.s3a.secret.key=abc --conf spark.master=local[1] "
...                "job.py --token xyz --day 2024-01-01")
'SparkSubmit --conf spark.hadoop.fs.s3a.secret.key=*** --conf spark.master=local[1] job.py --token *** --day 2024-01-01'
>>> redact_properties({"spark.myapp.db.password": "hunter2", "spark.master": "yarn"})
{'spark.master': 'yarn', 'spark.myapp.db.password': '***'}
>>> redact_command("job.py jdbc:postgresql://db:5432/x?user=u&password=pw")
'job.py jdbc:postgresql://db:5432/x?user=u&password=***'
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping

MASK = "***"
# Spark's own spark.redaction.regex is "(?i)secret|password|token|access[.]key"; credentials,
# keys and signatures are added (fs.s3a.secret.key, *.account.key, sas tokens, private keys).
SECRET_NAME = re.compile(r"(?i)secret|passw(or)?d|pwd|token|credential|access[._-]?key|private[._-]?key|"
                         r"account[._-]?key|api[._-]?key|auth|signature|\bsas\b|\bkey$")
# name=value inside one argument (a URL's query, key=value options) and user:password@ in URLs.
_INLINE = re.compile(r"(?P<name>[\w.-]+)=(?P<value>[^&;,\s]+)")
_USERINFO = re.compile(r"(?P<scheme>[a-z][\w+.-]*://[^:/@\s]+):[^@/\s]+@", re.IGNORECASE)


def is_secret(name: str) -> bool:
    return SECRET_NAME.search(name) is not None


def redact_properties(properties: Mapping[str, str]) -> dict[str, str]:
    """Properties with the values of secret-looking names masked, and credentials in the rest."""
    return {name: MASK if is_secret(name) else redact_text(value) for name, value in sorted(properties.items())}


def redact_text(text: str) -> str:
    """``name=value`` pairs whose name looks secret, and URL passwords, masked."""
    text = _USERINFO.sub(lambda m: f"{m['scheme']}:{MASK}@", text)
    return _INLINE.sub(lambda m: f"{m['name']}={MASK}" if is_secret(m["name"]) else m[0], text)


def redact_command(command: str) -> str:
    """A command line with secrets masked: the value after an option named like a secret
    (``--token X``, ``--conf a.secret=X``, ``--password=X``) and ``name=value`` pairs in arguments."""
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    kept: list[str] = []
    masked_next = False
    for word in words:
        if masked_next:
            kept.append(MASK)
            masked_next = False
            continue
        option, equals, _ = word.partition("=")
        if word.startswith("-") and not equals and is_secret(word.lstrip("-")):
            masked_next = True
            kept.append(word)
        elif word.startswith("-") and equals and is_secret(option.lstrip("-")):
            kept.append(f"{option}={MASK}")
        else:
            kept.append(redact_text(word))
    return shlex.join(kept) if any(_needs_quotes(word) for word in kept) else " ".join(kept)


def _needs_quotes(word: str) -> bool:
    return not word or any(char.isspace() for char in word)
