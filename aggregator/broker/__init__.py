"""The broker side of administration: site enrolment, passwords and ACL."""
