"""The bounce mailbox: delivery status notifications, plain bounces, feedback reports and auto-replies read from mail files."""

from listhygiene.ingest.dsn.mailbox import is_maildir_tmp, split_messages
from listhygiene.ingest.dsn.report import NotABounce, Options, raw_text, read_message

__all__ = ["NotABounce", "Options", "is_maildir_tmp", "raw_text", "read_message", "split_messages"]
