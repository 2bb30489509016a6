// Scheduler: `task.partial`, a node's partial image of a frame it is rendering.
#include "events/previewstore.h"
#include "scheduler/scheduler.h"
#include "util/json.h"

namespace farm::server {

Result<void> Scheduler::onPartial(LiveNode &n, const QJsonObject &d)
{
    if (!m_previews)
        return makeError("unknown_type", "this server keeps no previews");
    const auto t = ownTask(n, d);
    if (!t)
        return t.error();
    touchTask(t->task.id);
    PreviewStore::Preview p;
    p.task = t->task.id;
    p.job = t->task.jobId;
    json::Reader r(d, "task.partial");
    p.frame = int(r.integer("frame", -1, 0, 1000000000));
    p.spp = int(r.integer("spp", -1, 1, 1 << 20));
    p.samples = int(r.integer("samples", -1, 1, 1 << 20));
    if (r.ok() && (p.frame < 0 || p.spp < 1 || p.samples < 1))
        r.fail("invalid_field", "task.partial needs 'frame', 'spp' and 'samples'");
    if (r.ok() && p.samples > p.spp)
        r.fail("invalid_field", "'samples' must be from 1 to 'spp'");
    if (!r.ok())
        return r.error();
    const QJsonValue jpeg = d.value("jpeg");
    if (!jpeg.isString())
        return makeError("invalid_field", "'jpeg' must be the image as a base64 string");
    // Refuse an oversized image before decoding it: base64 takes 4 characters per 3 bytes.
    constexpr qsizetype kMaxBase64 = (PreviewStore::kMaxBytes + 2) / 3 * 4;
    if (jpeg.toString().size() > kMaxBase64)
        return makeError("too_large", QString("a preview is at most %1 bytes of JPEG (%2 base64 "
                                              "characters); got %3 characters")
                                          .arg(PreviewStore::kMaxBytes)
                                          .arg(kMaxBase64)
                                          .arg(jpeg.toString().size()));
    auto decoded = QByteArray::fromBase64Encoding(jpeg.toString().toLatin1(),
                                                  QByteArray::AbortOnBase64DecodingErrors);
    if (!decoded)
        return makeError("invalid_field", "'jpeg' is not valid base64");
    p.jpeg = std::move(*decoded);
    return m_previews->put(std::move(p));
}

} // namespace farm::server
