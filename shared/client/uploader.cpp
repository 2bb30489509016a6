#include "client/uploader.h"

#include "util/json.h"

#include <QFileInfo>
#include <QJsonArray>
#include <QRegularExpression>
#include <QTimer>

namespace farm::client {

namespace {

// Blocks hashed per event-loop turn: big enough to be quick, small enough to keep a GUI live.
constexpr int kBlocksPerTurn = 8;

bool isRetryable(const Error &e)
{
    // chunk_checksum: the bytes changed on the way; the same chunk read again goes through.
    static const QStringList codes{"unreachable", "timeout", "network", "internal",
                                   "chunk_checksum"};
    return codes.contains(e.code) || e.code.startsWith("http_5");
}

} // namespace

Uploader::Uploader(ApiClient *api, QObject *parent)
    : QObject(parent)
    , m_api(api)
{}

Result<QString> Uploader::hashFile(const QString &filePath)
{
    QFile file(filePath);
    if (!file.open(QIODevice::ReadOnly))
        return makeError("io", QString("cannot read %1: %2").arg(filePath, file.errorString()));
    QCryptographicHash hash(QCryptographicHash::Sha256);
    QByteArray block(kHashBlock, Qt::Uninitialized);
    for (;;) {
        const qint64 n = file.read(block.data(), block.size());
        if (n < 0)
            return makeError("io", QString("cannot read %1: %2").arg(filePath, file.errorString()));
        if (n == 0)
            break;
        hash.addData(QByteArrayView(block.constData(), n));
    }
    return QString::fromLatin1(hash.result().toHex());
}

void Uploader::start(const QString &filePath, const QString &name)
{
    if (m_running) // the running upload goes on; only this request is refused
        return emit failed(makeError("busy", "an upload is already running"));
    ++m_generation;
    m_file.close();
    m_file.setFileName(filePath);
    m_name = name.isEmpty() ? QFileInfo(filePath).fileName() : name;
    m_sha256.clear();
    m_uploadId.clear();
    m_received.clear();
    m_sent.clear();
    m_bytesSent = 0;
    m_hash.reset();
    m_hashed = 0;
    m_running = true;
    if (!isSafeFileName(m_name))
        return fail(
            makeError("invalid_field", QString("'%1' is not a valid file name").arg(m_name)));
    if (!QFileInfo(filePath).isFile() || !m_file.open(QIODevice::ReadOnly))
        return fail(makeError("io", QString("cannot read %1: %2")
                                        .arg(filePath, QFileInfo::exists(filePath)
                                                           ? m_file.errorString()
                                                           : QString("no such file"))));
    m_size = m_file.size();
    const quint64 gen = m_generation;
    QTimer::singleShot(0, this, [this, gen] {
        if (gen == m_generation)
            hashStep();
    });
}

void Uploader::abort()
{
    if (!m_running)
        return;
    ++m_generation;
    m_running = false;
    if (m_reply)
        m_reply->abort();
    m_file.close();
    if (!m_uploadId.isEmpty()) {
        // Give the session up so the server frees the bytes it reserved; the answer changes
        // nothing here (a session that is gone is as good).
        m_api->send("DELETE", "/api/v1/uploads/" + m_uploadId, {}, {}, [](Result<QByteArray>) {});
        m_uploadId.clear();
    }
}

void Uploader::fail(Error error)
{
    ++m_generation;
    m_running = false;
    m_file.close();
    emit failed(error);
}

void Uploader::hashStep()
{
    QByteArray block(kHashBlock, Qt::Uninitialized);
    for (int i = 0; i < kBlocksPerTurn; ++i) {
        const qint64 n = m_file.read(block.data(), block.size());
        if (n < 0)
            return fail(makeError(
                "io", QString("cannot read %1: %2").arg(m_file.fileName(), m_file.errorString())));
        if (n == 0) {
            if (m_hashed != m_size)
                return fail(makeError(
                    "io", QString("%1 changed while it was read").arg(m_file.fileName())));
            m_sha256 = QString::fromLatin1(m_hash.result().toHex());
            return createUpload();
        }
        m_hash.addData(QByteArrayView(block.constData(), n));
        m_hashed += n;
    }
    emit hashProgress(m_hashed, m_size);
    const quint64 gen = m_generation;
    QTimer::singleShot(0, this, [this, gen] {
        if (gen == m_generation)
            hashStep();
    });
}

void Uploader::createUpload()
{
    emit hashProgress(m_size, m_size);
    // HEAD first (docs/JOBTYPES.md): a file the server holds costs no upload session. Any answer
    // but 200 (404, or a server without the route) goes on to the upload, which names errors.
    const quint64 gen = m_generation;
    QNetworkReply *head = m_api->network()->head(m_api->makeRequest("/api/v1/files/" + m_sha256));
    m_reply = head;
    connect(head, &QNetworkReply::finished, this, [this, gen, head] {
        head->deleteLater();
        if (gen != m_generation)
            return;
        if (head->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt() == 200) {
            m_running = false;
            m_file.close();
            emit progress(m_size, m_size);
            emit finished(m_sha256);
            return;
        }
        startSession();
    });
}

void Uploader::startSession()
{
    const QJsonObject body{{"name", m_name}, {"size", m_size}, {"sha256", m_sha256}};
    const quint64 gen = m_generation;
    m_api->sendJson("POST", "/api/v1/uploads", &body, [this, gen](Result<QJsonObject> r) {
        if (gen != m_generation)
            return;
        if (!r)
            return fail(r.error());
        const QJsonObject o = *r;
        if (o.value("exists").toBool()) {
            if (o.value("file").toString() != m_sha256)
                return fail(makeError("bad_response", "server reported a different file hash"));
            m_running = false;
            m_file.close();
            emit progress(m_size, m_size);
            emit finished(m_sha256);
            return;
        }
        static const QRegularExpression idPattern("^[A-Za-z0-9_-]{1,128}$");
        m_uploadId = o.value("id").toString();
        m_chunkSize = o.value("chunk_size").toInteger();
        m_chunkCount = o.value("chunks").toInt(-1);
        const qint64 expected = m_chunkSize > 0 ? (m_size + m_chunkSize - 1) / m_chunkSize : -1;
        if (!idPattern.match(m_uploadId).hasMatch() || m_chunkSize <= 0 ||
            m_chunkSize > kMaxChunkSize ||
            (m_chunkCount != expected && !(m_size == 0 && m_chunkCount == 1)))
            return fail(makeError("bad_response", "server sent an invalid upload session"));
        for (const QJsonValue &v : o.value("received").toArray())
            m_received.insert(v.toInt());
        sendNextChunk();
    });
}

void Uploader::sendNextChunk()
{
    qint64 held = 0;
    int next = -1;
    for (int i = 0; i < m_chunkCount; ++i) {
        if (m_received.contains(i))
            held += qMin(m_chunkSize, m_size - qint64(i) * m_chunkSize);
        else if (next < 0)
            next = i;
    }
    const quint64 gen = m_generation;
    emit progress(qMin(held, m_size), m_size);
    if (gen != m_generation) // aborted by a slot of progress
        return;
    if (next < 0)
        return complete();
    sendChunk(next, 1);
}

void Uploader::sendChunk(int index, int attempt)
{
    const qint64 offset = qint64(index) * m_chunkSize;
    const qint64 length = qMin(m_chunkSize, m_size - offset);
    if (!m_file.seek(offset))
        return fail(makeError("io", QString("cannot seek in %1").arg(m_file.fileName())));
    const QByteArray data = m_file.read(length);
    if (data.size() != length)
        return fail(makeError(
            "io", QString("cannot read %1: %2").arg(m_file.fileName(), m_file.errorString())));
    qint64 heldBefore = 0;
    for (int i : std::as_const(m_received))
        heldBefore += qMin(m_chunkSize, m_size - qint64(i) * m_chunkSize);
    const quint64 gen = m_generation;
    // The chunk's own SHA-256 lets the server refuse a chunk damaged on the way at once, by
    // number, instead of the whole file failing at complete.
    QNetworkRequest request =
        m_api->makeRequest(QString("/api/v1/uploads/%1/chunks/%2").arg(m_uploadId).arg(index));
    request.setHeader(QNetworkRequest::ContentTypeHeader, "application/octet-stream");
    request.setRawHeader(kChunkChecksumHeader,
                         QCryptographicHash::hash(data, QCryptographicHash::Sha256).toHex());
    QNetworkReply *reply = m_api->network()->sendCustomRequest(request, "PUT", data);
    m_reply = reply;
    connect(reply, &QNetworkReply::uploadProgress, this,
            [this, gen, heldBefore](qint64 sent, qint64) {
                if (gen == m_generation && sent > 0)
                    emit progress(qMin(heldBefore + sent, m_size), m_size);
            });
    connect(reply, &QNetworkReply::finished, this, [this, gen, index, attempt, reply] {
        reply->deleteLater();
        if (gen != m_generation)
            return;
        const Result<QByteArray> r = ApiClient::replyResult(reply, reply->readAll());
        if (!r) {
            if (attempt < m_maxAttempts && isRetryable(r.error())) {
                QTimer::singleShot(m_retryDelayMs * attempt, this, [this, gen, index, attempt] {
                    if (gen == m_generation)
                        sendChunk(index, attempt + 1);
                });
                return;
            }
            return fail(
                makeError(r.error().code,
                          QString("chunk %1 of %2: %3").arg(index).arg(m_name, r.error().message)));
        }
        m_sent.append(index);
        m_bytesSent += qMin(m_chunkSize, m_size - qint64(index) * m_chunkSize);
        m_received.insert(index);
        const auto answer = json::parseObject(*r);
        if (answer)
            for (const QJsonValue &v : answer->value("received").toArray())
                m_received.insert(v.toInt());
        sendNextChunk();
    });
}

void Uploader::complete()
{
    const QJsonObject empty;
    const quint64 gen = m_generation;
    m_api->sendJson(
        "POST", QString("/api/v1/uploads/%1/complete").arg(m_uploadId), &empty,
        [this, gen](Result<QJsonObject> r) {
            if (gen != m_generation)
                return;
            if (!r)
                return fail(r.error());
            if (r->value("file").toString() != m_sha256)
                return fail(makeError("hash_mismatch", "server stored a different hash than sent"));
            m_uploadId.clear(); // the session is gone: nothing to abandon
            m_running = false;
            m_file.close();
            emit finished(m_sha256);
        });
}

} // namespace farm::client
