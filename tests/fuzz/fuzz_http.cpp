// The HTTP front end's request-head parser and chunked decoder (farm-server/api/httphead.h) on
// any bytes. Invariants: what parses is a token method, an origin-form target of visible ASCII,
// a sane length, and never both a length and chunked; the decoder never returns more payload
// than it was given, never consumes more than it was given, and splitting its input anywhere
// gives the same payload and the same outcome.
#include "fuzzcheck.h"

#include "api/httphead.h"

using namespace farm;
using namespace farm::server;

namespace {

void checkHead(QByteArrayView head)
{
    const auto parsed = parseRequestHead(head);
    if (const auto *e = std::get_if<HeadError>(&parsed)) {
        FUZZ_CHECK(e->status >= 400 && e->status < 600, e->message);
        FUZZ_CHECK(!e->code.isEmpty() && !e->message.isEmpty(), e->message);
        return;
    }
    const RequestHead &r = std::get<RequestHead>(parsed);
    const QString from =
        QString::fromLatin1(head.first(qMin<qsizetype>(head.size(), 200)).toByteArray().toHex());
    FUZZ_CHECK(head.size() <= HttpLimits::kMaxHeadBytes, from);
    FUZZ_CHECK(!r.method.isEmpty() && !r.method.contains(' '), from);
    FUZZ_CHECK(r.target.startsWith('/'), from);
    for (char c : r.target)
        FUZZ_CHECK(static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f,
                   from);
    FUZZ_CHECK(r.contentLength >= 0, from);
    FUZZ_CHECK(!(r.chunked && r.contentLength > 0), from);
    FUZZ_CHECK(r.minorVersion == 0 || r.minorVersion == 1, from);
    FUZZ_CHECK(r.headers.size() <= HttpLimits::kMaxHeaderCount, from);
    for (const auto &[k, v] : r.headers) {
        FUZZ_CHECK(!k.isEmpty() && !k.contains(':') && !k.contains(' '), from);
        FUZZ_CHECK(!v.contains('\r') && !v.contains('\n'), from);
    }
}

void checkChunked(QByteArrayView wire, size_t split)
{
    ChunkedDecoder whole;
    QByteArray out;
    const qsizetype used = whole.feed(wire, out);
    FUZZ_CHECK(used >= 0 && used <= wire.size(), QString::number(used));
    FUZZ_CHECK(out.size() <= used, QString::number(out.size()));
    if (whole.state() == ChunkedDecoder::State::Error)
        FUZZ_CHECK(!whole.error().isEmpty(), "an error without a message");
    if (whole.state() == ChunkedDecoder::State::More)
        FUZZ_CHECK(used == wire.size(), "stopped early without an outcome");

    // The same bytes in two pieces, as TCP may deliver them.
    const qsizetype cut = qsizetype(split % size_t(wire.size() + 1));
    ChunkedDecoder parts;
    QByteArray out2;
    qsizetype used2 = parts.feed(wire.first(cut), out2);
    if (parts.state() == ChunkedDecoder::State::More)
        used2 += parts.feed(wire.sliced(cut), out2);
    FUZZ_CHECK(parts.state() == whole.state(), QString::number(cut));
    FUZZ_CHECK(out2 == out, QString::number(cut));
    if (whole.state() == ChunkedDecoder::State::Done)
        FUZZ_CHECK(used2 == used, QString::number(cut));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const QByteArray rest = fuzz::bytes(data + 2, size - 2);
    // First byte even: a request head; odd: a chunked body, split where the second byte says.
    if (data[0] % 2 == 0)
        checkHead(rest);
    else
        checkChunked(rest, data[1] * 7919u);
    return 0;
}
