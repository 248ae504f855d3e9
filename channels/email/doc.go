// Package email sends email through SMTP (a pool of reusable connections,
// STARTTLS or implicit TLS, AUTH PLAIN/LOGIN) or into a folder of .eml files
// (the zero-setup default), and parses bounce/complaint feedback (Amazon SES
// notifications over SNS, RFC 3464 delivery status notifications).
//
// Every message is composed the same way by both adapters:
//
//   - headers Date, From, To, Reply-To (optional), Subject, Message-ID,
//     MIME-Version, X-Tact-Key (the idempotency key), Content-Type;
//     non-ASCII subjects and display names (Thai) are RFC 2047 B-encoded and
//     folded at 78 columns;
//   - marketing messages add List-Unsubscribe: <https://…?token=…> and
//     List-Unsubscribe-Post: List-Unsubscribe=One-Click (RFC 8058), with a
//     signed token from channels/linktoken; the template must render the same
//     link visibly (checked);
//   - the body is multipart/alternative (text/plain then text/html, UTF-8),
//     each part quoted-printable, or base64 when mostly non-ASCII;
//   - the Message-ID is derived from the idempotency key, so a retried send
//     carries the same Message-ID and feedback maps back to the send;
//   - optional DKIM (RSA-SHA256 or Ed25519, relaxed/relaxed) signs From, To,
//     Subject, Date, Message-ID, MIME-Version, Content-Type, Reply-To,
//     List-Unsubscribe and List-Unsubscribe-Post.
//
// Addresses must be ASCII (no SMTPUTF8/IDN); others fail permanently with
// channels.ErrInvalidAddress.
package email
