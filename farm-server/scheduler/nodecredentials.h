#pragma once

#include <QByteArray>
#include <QString>

namespace farm::server::credentials {

/// Longest secret a hello or bearer token may carry; longer ones are no node's.
inline constexpr int kMaxSecretLength = 128;

/// A fresh node secret: 32 bytes from the system's secure random source, base64url (43 chars).
QString newSecret();
/// What the store keeps of a secret: its SHA-256 as lowercase hex. A secret holds 256 random
/// bits, so no salt or slow hash is needed to make the stored value useless to a reader.
QByteArray hashSecret(const QByteArray &secret);
/// Equality that reads every byte whatever the first difference, so that the time taken tells
/// an attacker nothing about how much of a guess was right.
bool constantTimeEquals(const QByteArray &a, const QByteArray &b);

} // namespace farm::server::credentials
