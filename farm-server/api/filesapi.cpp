// REST: resumable chunked uploads and content-addressed files (docs/API.md).
#include "api/apicontext.h"

#include "util/json.h"

#include <QJsonArray>

namespace farm::server {
namespace {

const QString kUploadId = QStringLiteral("([0-9a-f]{32})");

QJsonArray receivedJson(const QList<int> &chunks)
{
    QJsonArray received;
    for (int i : chunks)
        received.append(i);
    return received;
}

QJsonObject uploadJson(const UploadRecord &u)
{
    return {{"id", u.id},
            {"name", u.name},
            {"size", u.size},
            {"chunk_size", u.chunkSize},
            {"chunk_checksum_header", QString::fromLatin1(upload::kChunkChecksumHeader)},
            {"chunks", u.chunks},
            {"received", receivedJson(u.received)}};
}

/// Upload limits answer 429 (this client's own uploads are in the way) or 507 (the server's).
void replyUploadError(HttpReply &reply, const Error &error)
{
    if (error.code == "too_many_uploads")
        return reply.error(429, error.code, error.message);
    if (error.code == "insufficient_storage")
        return reply.error(507, error.code, error.message);
    replyError(reply, error);
}

void listUploads(ApiContext &ctx, const HttpRequest &req, HttpReply reply)
{
    const QString client = FileStore::clientKey(req.client);
    QJsonArray uploads;
    for (const UploadRecord &u : ctx.files.uploadsOf(client))
        uploads.append(uploadJson(u));
    const UploadLimits &l = ctx.files.uploadLimits();
    reply.json(200, {{"client", client},
                     {"uploads", uploads},
                     {"limits", QJsonObject{{"per_client_count", l.perClientCount},
                                            {"per_client_bytes", l.perClientBytes},
                                            {"total_count", l.totalCount},
                                            {"total_bytes", l.totalBytes},
                                            {"disk_margin", l.diskMargin}}}});
}

void createUpload(ApiContext &ctx, const HttpRequest &req, HttpReply reply)
{
    const auto body = json::parseObject(req.body);
    if (!body)
        return replyError(reply, body.error());
    json::Reader r(*body);
    r.rejectUnknown({"name", "size", "sha256"});
    const QString name = r.string("name", QString(), 1, 255);
    const qint64 size = r.integer("size", -1, 1, FileStore::kMaxFileSize);
    const QString sha = r.string("sha256", QString(), 64, 64);
    if (r.ok() && (name.isEmpty() || size < 0 || sha.isEmpty()))
        r.fail("invalid_field", "name, size and sha256 are required");
    if (!r.ok())
        return replyError(reply, r.error());
    if (ctx.files.hasFile(sha)) // dedupe: the bytes are already here
        return reply.json(200, {{"exists", true}, {"file", sha}});
    const auto opened = ctx.files.createUpload(name, size, sha, FileStore::clientKey(req.client));
    if (!opened)
        return replyUploadError(reply, opened.error());
    reply.json(opened->resumed ? 200 : 201, uploadJson(opened->upload));
}

void answerChunk(ApiContext &ctx, const QString &id, int index, const QByteArray &data,
                 const std::optional<FileStore::ChunkChecksum> &checksum, HttpReply &reply)
{
    const auto u = ctx.files.writeChunk(id, index, data, checksum);
    if (!u)
        return replyError(reply, u.error());
    ctx.metrics.inputBytes += quint64(data.size());
    reply.json(200, {{"received", receivedJson(u->received)}});
}

void putChunk(ApiContext &ctx, const HttpRequest &req, HttpReply reply)
{
    bool ok = false;
    const int index = req.args[1].toInt(&ok);
    if (!ok)
        return reply.error(400, "invalid_field", "the chunk index must be a number");
    const auto claimed = FileStore::parseChunkChecksum(req.header(FileStore::kChunkChecksumHeader));
    if (!claimed)
        return replyError(reply, claimed.error());
    const QString id = req.args[0];
    if (!*claimed)
        return answerChunk(ctx, id, index, req.body, std::nullopt, reply);
    // Refuse what needs no hashing first, then hash off the event loop (~40 ms per 8 MiB)
    // and write back on it; writeChunk checks the upload again, it may have gone meanwhile.
    if (auto u = ctx.files.checkChunk(id, index, req.body.size()); !u)
        return replyError(reply, u.error());
    ApiContext *context = &ctx;
    const QByteArray data = req.body;
    const QString said = **claimed;
    runOffLoop(
        ctx,
        [data, said] {
            return FileStore::ChunkChecksum{said, FileStore::sha256Hex(data)};
        },
        [context, id, index, data, reply](const FileStore::ChunkChecksum &checksum) mutable {
            answerChunk(*context, id, index, data, checksum, reply);
        });
}

void getUpload(ApiContext &ctx, const HttpRequest &req, HttpReply reply)
{
    const auto u = ctx.files.upload(req.args[0]);
    if (!u)
        return reply.error(404, "not_found", QString("upload %1 does not exist").arg(req.args[0]));
    reply.json(200, uploadJson(*u));
}

void deleteUpload(ApiContext &ctx, const HttpRequest &req, HttpReply reply)
{
    if (auto r = ctx.files.abandonUpload(req.args[0]); !r)
        return replyError(reply, r.error());
    reply.noContent();
}

void completeUpload(ApiContext &ctx, const HttpRequest &req, HttpReply reply)
{
    const auto u = ctx.files.beginComplete(req.args[0]);
    if (!u)
        return replyError(reply, u.error());
    // Hash off the event loop (files reach 8 GiB); answer back on it.
    const UploadRecord upload = *u;
    const QString path = ctx.files.partPath(upload.id);
    FileStore *files = &ctx.files;
    runOffLoop(
        ctx, [path] { return FileStore::hashFile(path); },
        [files, upload, reply](const Result<QString> &hash) mutable {
            if (auto r = files->finishComplete(upload, hash); !r)
                return replyError(reply, r.error());
            reply.json(200, {{"file", upload.sha256}, {"size", upload.size}});
        });
}

void getFile(ApiContext &ctx, const HttpRequest &req, HttpReply reply)
{
    if (!ctx.files.hasFile(req.args[0]))
        return reply.error(404, "not_found", "no file with this SHA-256");
    reply.file(ctx.files.filePath(req.args[0]), "application/octet-stream");
}

} // namespace

void addFileRoutes(HttpServer &http, ApiContext &ctx)
{
    auto bind = [&ctx](ApiHandler f) { return bindHandler(ctx, f); };
    const QString uploads = "/api/v1/uploads";
    http.addRoute("POST", uploads, Access::Client, bind(createUpload));
    http.addRoute("GET", uploads, Access::Client, bind(listUploads));
    http.addRoute("PUT", uploads + '/' + kUploadId + "/chunks/(\\d{1,9})", Access::Client,
                  bind(putChunk), FileStore::kChunkSize);
    http.addRoute("GET", uploads + '/' + kUploadId, Access::Client, bind(getUpload));
    http.addRoute("DELETE", uploads + '/' + kUploadId, Access::Client, bind(deleteUpload));
    http.addRoute("POST", uploads + '/' + kUploadId + "/complete", Access::Client,
                  bind(completeUpload));
    http.addRoute("GET", "/api/v1/files/([0-9a-f]{64})", Access::Node, bind(getFile));
}

} // namespace farm::server
