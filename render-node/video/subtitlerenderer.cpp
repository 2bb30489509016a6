#include "subtitlerenderer.h"

extern "C" {
#include <ass/ass.h>
}
#include <fontconfig/fontconfig.h>

#include <QRegularExpression>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <vector>

namespace farm::video {

namespace {

// x / 255, rounded, for 0 <= x <= 255 * 255 (multiply and shift: a division per pixel costs
// more than the rest of the blend).
inline int div255(int x)
{
    return (x * 257 + 32896) >> 16;
}

// `from` moved towards `to` by alpha/255.
inline uint8_t mix(uint8_t from, int to, int alpha)
{
    return uint8_t(div255(from * (255 - alpha) + to * alpha));
}

} // namespace

void blendImages(const ass_image *images, AVFrame *f)
{
    const bool half = f->format == AV_PIX_FMT_YUV420P || f->format == AV_PIX_FMT_YUVJ420P;
    const int W = f->width, H = f->height;
    // Each image's alpha (coverage times its colour's opacity) is worked out once into this
    // buffer and read by the luma and chroma passes; the per-pixel loops then have no branch
    // (mix with alpha 0 leaves a pixel as it is), so the compiler vectorises the luma pass.
    thread_local std::vector<uint8_t> alphaBuffer;
    for (const ASS_Image *img = images; img; img = img->next) {
        if (img->w <= 0 || img->h <= 0)
            continue;
        const uint32_t c = img->color;
        const int r = int(c >> 24), g = int((c >> 16) & 255), b = int((c >> 8) & 255);
        const int a = 255 - int(c & 255);
        if (a == 0)
            continue;
        const int Y = ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16;
        const int U = ((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128;
        const int V = ((112 * r - 94 * g - 18 * b + 128) >> 8) + 128;
        const int x0 = std::max(0, img->dst_x), x1 = std::min(W, img->dst_x + img->w);
        const int y0 = std::max(0, img->dst_y), y1 = std::min(H, img->dst_y + img->h);
        if (x0 >= x1 || y0 >= y1)
            continue;
        const int w = x1 - x0;
        alphaBuffer.resize(size_t(w) * size_t(y1 - y0));
        for (int y = y0; y < y1; ++y) {
            const uint8_t *m = img->bitmap + (y - img->dst_y) * img->stride + (x0 - img->dst_x);
            uint8_t *out = alphaBuffer.data() + size_t(y - y0) * size_t(w);
            if (a == 255)
                std::copy(m, m + w, out);
            else
                for (int i = 0; i < w; ++i)
                    out[i] = uint8_t(div255(m[i] * a));
        }
        const auto alphaRow = [&](int y) {
            return alphaBuffer.data() + size_t(y - y0) * size_t(w);
        };
        for (int y = y0; y < y1; ++y) {
            uint8_t *dst = f->data[0] + qsizetype(y) * f->linesize[0] + x0;
            const uint8_t *k = alphaRow(y);
            for (int i = 0; i < w; ++i)
                dst[i] = mix(dst[i], Y, k[i]);
        }
        if (!half) {
            for (int y = y0; y < y1; ++y) {
                uint8_t *du = f->data[1] + qsizetype(y) * f->linesize[1] + x0;
                uint8_t *dv = f->data[2] + qsizetype(y) * f->linesize[2] + x0;
                const uint8_t *k = alphaRow(y);
                for (int i = 0; i < w; ++i) {
                    du[i] = mix(du[i], U, k[i]);
                    dv[i] = mix(dv[i], V, k[i]);
                }
            }
            continue;
        }
        // 4:2:0: a chroma sample covers 2×2 luma pixels; its weight is their mean.
        for (int cy = y0 >> 1; cy <= (y1 - 1) >> 1; ++cy) {
            uint8_t *du = f->data[1] + qsizetype(cy) * f->linesize[1];
            uint8_t *dv = f->data[2] + qsizetype(cy) * f->linesize[2];
            const int ya = std::max(y0, 2 * cy), yb = std::min(y1, 2 * cy + 2);
            const uint8_t *k0 = alphaRow(ya);
            const uint8_t *k1 = yb - ya == 2 ? alphaRow(ya + 1) : nullptr;
            for (int cx = x0 >> 1; cx <= (x1 - 1) >> 1; ++cx) {
                const int xa = std::max(x0, 2 * cx), xb = std::min(x1, 2 * cx + 2);
                const int i = xa - x0;
                int sum = k0[i] + (xb - xa == 2 ? k0[i + 1] : 0);
                if (k1)
                    sum += k1[i] + (xb - xa == 2 ? k1[i + 1] : 0);
                const int k = (sum + 2) >> 2;
                du[cx] = mix(du[cx], U, k);
                dv[cx] = mix(dv[cx], V, k);
            }
        }
    }
}

Result<std::unique_ptr<SubtitleRenderer>>
SubtitleRenderer::create(const QString &script, int width, int height, const QString &defaultFamily)
{
    std::unique_ptr<SubtitleRenderer> r(new SubtitleRenderer);
    r->m_width = width;
    r->m_height = height;
    r->m_library = ass_library_init();
    if (!r->m_library)
        return makeError("internal", "libass does not start");
    ass_set_message_cb(r->m_library, &SubtitleRenderer::onMessage, r.get());
    r->m_renderer = ass_renderer_init(r->m_library);
    if (!r->m_renderer)
        return makeError("internal", "libass has no renderer (no FreeType?)");
    ass_set_frame_size(r->m_renderer, width, height);
    ass_set_storage_size(r->m_renderer, width, height);
    ass_set_shaper(r->m_renderer, ASS_SHAPING_COMPLEX); // HarfBuzz: Hangul jamo, Arabic, …
    const QByteArray family = defaultFamily.toUtf8();
    ass_set_fonts(r->m_renderer, nullptr, family.constData(), ASS_FONTPROVIDER_FONTCONFIG, nullptr,
                  1);
    QByteArray bytes = script.toUtf8();
    r->m_track = ass_read_memory(r->m_library, bytes.data(), size_t(bytes.size()), nullptr);
    if (!r->m_track)
        return makeError("internal", "libass did not read the subtitle script");
    return r;
}

SubtitleRenderer::~SubtitleRenderer()
{
    if (m_track)
        ass_free_track(m_track);
    if (m_renderer)
        ass_renderer_done(m_renderer);
    if (m_library)
        ass_library_done(m_library);
}

void SubtitleRenderer::onMessage(int level, const char *fmt, va_list args, void *self)
{
    // 0 fatal … 2 warning; "fontselect: failed to find any fallback with glyph 0x…" is a
    // warning, the rest is chatter.
    if (level > 2)
        return;
    char buf[1024];
    std::vsnprintf(buf, sizeof buf, fmt, args);
    QString line = QString::fromUtf8(buf).trimmed();
    static const QRegularExpression glyph(QStringLiteral("glyph 0x([0-9A-Fa-f]+)"));
    const auto m = glyph.match(line);
    if (m.hasMatch())
        line = QString("no installed font has the character U+%1: it shows as a box")
                   .arg(m.captured(1).toUpper().rightJustified(4, '0'));
    else
        line = "libass: " + line;
    auto *r = static_cast<SubtitleRenderer *>(self);
    std::lock_guard lock(r->m_mutex);
    if (!r->m_said.contains(line)) {
        r->m_said.append(line);
        r->m_warnings.append(line);
    }
}

QStringList SubtitleRenderer::takeWarnings()
{
    std::lock_guard lock(m_mutex);
    return std::exchange(m_warnings, {});
}

const ass_image *SubtitleRenderer::render(qint64 ms)
{
    int changed = 0;
    return ass_render_frame(m_renderer, m_track, ms, &changed);
}

QStringList SubtitleRenderer::fontFallbacks(const QStringList &families)
{
    QStringList out;
    if (!FcInit())
        return {"fontconfig does not start: text uses libass's built-in choice"};
    for (const QString &family : families) {
        FcPattern *p = FcPatternCreate();
        const QByteArray f = family.toUtf8();
        FcPatternAddString(p, FC_FAMILY, reinterpret_cast<const FcChar8 *>(f.constData()));
        FcObjectSet *os = FcObjectSetBuild(FC_FAMILY, nullptr);
        FcFontSet *set = FcFontList(nullptr, p, os);
        const bool installed = set && set->nfont > 0;
        if (set)
            FcFontSetDestroy(set);
        FcObjectSetDestroy(os);
        FcPatternDestroy(p);
        if (!installed)
            out.append(f.isEmpty() ? QString() : family);
    }
    out.removeAll(QString());
    return out;
}

bool SubtitleRenderer::fontsCover(const QString &text)
{
    if (!FcInit())
        return false;
    for (const uint cp : text.toUcs4()) {
        if (QChar::isSpace(cp))
            continue;
        FcPattern *p = FcPatternCreate();
        FcCharSet *cs = FcCharSetCreate();
        FcCharSetAddChar(cs, cp);
        FcPatternAddCharSet(p, FC_CHARSET, cs);
        FcObjectSet *os = FcObjectSetBuild(FC_FAMILY, nullptr);
        FcFontSet *set = FcFontList(nullptr, p, os);
        const bool found = set && set->nfont > 0;
        if (set)
            FcFontSetDestroy(set);
        FcObjectSetDestroy(os);
        FcCharSetDestroy(cs);
        FcPatternDestroy(p);
        if (!found)
            return false;
    }
    return true;
}

} // namespace farm::video
