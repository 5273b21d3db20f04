"""MailSage: dependable sending through your own SMTP providers."""

__version__ = "0.1.0"
