"""One router per section of the console, and the member's page."""
