#include "api/httphead.h"

#include <QUrl>

namespace farm::server {
namespace {

bool isTokenChar(char c)
{
    // RFC 9110 tchar.
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return QByteArrayView("!#$%&'*+-.^_`|~").contains(c);
}

bool isToken(QByteArrayView s)
{
    if (s.isEmpty())
        return false;
    for (char c : s)
        if (!isTokenChar(c))
            return false;
    return true;
}

HeadError bad(const QString &message, int status = 400, const QString &code = "bad_request")
{
    return {status, code, message};
}

/// Comma-separated list members, trimmed and lower-cased; empty members skipped.
QList<QByteArray> listMembers(const QByteArray &value)
{
    QList<QByteArray> out;
    for (const QByteArray &m : value.split(','))
        if (const QByteArray t = m.trimmed().toLower(); !t.isEmpty())
            out.append(t);
    return out;
}

} // namespace

QByteArray RequestHead::header(QByteArrayView name) const
{
    for (const auto &[k, v] : headers)
        if (QByteArrayView(k).compare(name, Qt::CaseInsensitive) == 0)
            return v;
    return {};
}

std::variant<RequestHead, HeadError> parseRequestHead(QByteArrayView head)
{
    if (head.size() > HttpLimits::kMaxHeadBytes)
        return bad(
            QString("the request head is larger than %1 bytes").arg(HttpLimits::kMaxHeadBytes), 431,
            "head_too_large");
    for (char c : head)
        if (c == '\0')
            return bad("the request head contains a NUL byte");
    const QList<QByteArray> lines = head.toByteArray().split('\n');
    if (lines.size() - 1 > HttpLimits::kMaxHeaderCount)
        return bad(QString("more than %1 header lines").arg(HttpLimits::kMaxHeaderCount), 431,
                   "head_too_large");
    RequestHead r;
    for (qsizetype i = 0; i < lines.size(); ++i) {
        const QByteArray &raw = lines[i];
        if (!raw.endsWith('\r') && i + 1 < lines.size())
            return bad("header lines must end with CRLF");
        const QByteArray line = raw.endsWith('\r') ? raw.chopped(1) : raw;
        if (line.contains('\r'))
            return bad("a bare CR in the request head");
        if (i == 0) {
            const QList<QByteArray> parts = line.split(' ');
            if (parts.size() != 3)
                return bad("the request line must be 'METHOD /path HTTP/1.1'");
            if (!isToken(parts[0]))
                return bad("the method is not a token");
            r.method = parts[0];
            r.target = parts[1];
            if (parts[2] == "HTTP/1.1")
                r.minorVersion = 1;
            else if (parts[2] == "HTTP/1.0")
                r.minorVersion = 0;
            else
                return bad("only HTTP/1.0 and HTTP/1.1 are spoken here", 505,
                           "version_not_supported");
            continue;
        }
        if (line.isEmpty())
            return bad("an empty line inside the request head");
        if (line.front() == ' ' || line.front() == '\t')
            return bad("folded header lines are not accepted");
        const qsizetype colon = line.indexOf(':');
        if (colon <= 0 || !isToken(QByteArrayView(line).first(colon)))
            return bad(QString("malformed header line '%1'")
                           .arg(QString::fromLatin1(line.left(60)).toHtmlEscaped()));
        const QByteArray value = line.mid(colon + 1).trimmed();
        for (char c : value)
            if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f)
                return bad("a control character in a header value");
        r.headers.append({line.left(colon), value});
    }

    // The target: origin-form only, visible ASCII.
    if (r.target.isEmpty() || r.target.front() != '/')
        return bad("the request target must be a path starting with '/'");
    for (char c : r.target)
        if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f)
            return bad("the request target contains a byte outside visible ASCII");
    const QUrl url(QString::fromLatin1(r.target), QUrl::StrictMode);
    if (!url.isValid())
        return bad("the request target is not a valid URL path");
    r.path = url.path();
    r.query = QUrlQuery(url);

    bool haveLength = false;
    bool haveEncoding = false;
    QList<QByteArray> connection;
    for (const auto &[key, value] : std::as_const(r.headers)) {
        const QByteArray k = key.toLower();
        if (k == "content-length") {
            bool ok = true;
            for (char c : value)
                ok = ok && c >= '0' && c <= '9';
            const qint64 n = ok && !value.isEmpty() && value.size() <= 18 ? value.toLongLong() : -1;
            if (n < 0)
                return bad("Content-Length must be a decimal number");
            if (haveLength && n != r.contentLength)
                return bad("conflicting Content-Length headers");
            haveLength = true;
            r.contentLength = n;
        } else if (k == "transfer-encoding") {
            if (haveEncoding || listMembers(value) != QList<QByteArray>{"chunked"})
                return bad("only 'Transfer-Encoding: chunked' is supported", 501,
                           "not_implemented");
            haveEncoding = true;
            r.chunked = true;
        } else if (k == "connection") {
            connection += listMembers(value);
        } else if (k == "expect") {
            if (value.toLower() != "100-continue")
                return bad("the only expectation understood is 100-continue", 417,
                           "expectation_failed");
            r.expectContinue = true;
        } else if (k == "upgrade") {
            r.webSocketUpgrade = listMembers(value).contains("websocket");
        }
    }
    if (haveLength && haveEncoding)
        return bad("Content-Length and Transfer-Encoding together are ambiguous");
    if (r.chunked && r.minorVersion == 0)
        return bad("chunked bodies need HTTP/1.1");
    r.keepAlive =
        r.minorVersion == 1 ? !connection.contains("close") : connection.contains("keep-alive");
    r.webSocketUpgrade = r.webSocketUpgrade && connection.contains("upgrade");
    return r;
}

void ChunkedDecoder::fail(const QString &why)
{
    m_state = State::Error;
    m_error = why;
}

qsizetype ChunkedDecoder::feed(QByteArrayView data, QByteArray &out)
{
    constexpr qsizetype kMaxLine = 1024; // size line with extensions, or one trailer line
    qsizetype used = 0;
    while (used < data.size() && m_state == State::More) {
        if (m_step == Step::Data) {
            const qsizetype n = qMin<qint64>(m_left, data.size() - used);
            out.append(data.sliced(used, n));
            used += n;
            m_left -= n;
            if (m_left == 0)
                m_step = Step::DataEnd;
            continue;
        }
        // A line: size, the CRLF after data, or a trailer line.
        const char c = data[used++];
        if (c != '\n') {
            if (m_line.size() >= kMaxLine) {
                fail("a chunk size or trailer line is too long");
                return used;
            }
            m_line.append(c);
            continue;
        }
        if (!m_line.endsWith('\r')) {
            fail("chunk lines must end with CRLF");
            return used;
        }
        m_line.chop(1);
        const QByteArray line = std::exchange(m_line, {});
        switch (m_step) {
        case Step::Size: {
            const qsizetype semicolon = line.indexOf(';'); // chunk extensions are ignored
            const QByteArray size = (semicolon < 0 ? line : line.left(semicolon)).trimmed();
            bool ok = !size.isEmpty() && size.size() <= 15;
            for (char h : size)
                ok = ok && QByteArrayView("0123456789abcdefABCDEF").contains(h);
            if (!ok) {
                fail(QString("a chunk size must be hexadecimal, not '%1'")
                         .arg(QString::fromLatin1(size.left(20)).toHtmlEscaped()));
                return used;
            }
            m_left = size.toLongLong(nullptr, 16);
            m_step = m_left == 0 ? Step::Trailer : Step::Data;
            break;
        }
        case Step::DataEnd:
            if (!line.isEmpty()) {
                fail("chunk data is longer than its size");
                return used;
            }
            m_step = Step::Size;
            break;
        case Step::Trailer:
            if (line.isEmpty())
                m_state = State::Done;
            break;
        case Step::Data:
            break;
        }
    }
    return used;
}

} // namespace farm::server
