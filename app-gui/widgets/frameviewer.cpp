#include "widgets/frameviewer.h"

#include "widgets/icons.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QPainter>
#include <QPushButton>
#include <QRegularExpression>
#include <QVBoxLayout>
#include <QWheelEvent>

#include <algorithm>
#include <cmath>

namespace farm::gui {

namespace {

/// A perceptual blue → green → yellow → red ramp (t in 0..1) for depth.
QRgb ramp(double t)
{
    static const QColor stops[] = {QColor(48, 18, 59),   QColor(70, 130, 248), QColor(27, 229, 181),
                                   QColor(164, 252, 60), QColor(251, 185, 56), QColor(122, 4, 3)};
    constexpr int n = int(std::size(stops)) - 1;
    t = std::clamp(t, 0.0, 1.0) * n;
    const int i = std::min(int(t), n - 1);
    const double f = t - i;
    const QColor &a = stops[i], &b = stops[i + 1];
    return qRgb(int(a.red() + (b.red() - a.red()) * f),
                int(a.green() + (b.green() - a.green()) * f),
                int(a.blue() + (b.blue() - a.blue()) * f));
}

/// Well-separated colours for ids (golden-ratio hue steps); 0 (background) is black.
QRgb idColour(int id)
{
    if (id == 0)
        return qRgb(0, 0, 0);
    const double hue = std::fmod(id * 0.618033988749895, 1.0);
    return QColor::fromHsvF(float(hue), 0.75f, 0.95f).rgb();
}

bool isImageName(const QString &name)
{
    static const QRegularExpression image("\\.(png|jpe?g|bmp|webp|tiff?)$",
                                          QRegularExpression::CaseInsensitiveOption);
    return image.match(name).hasMatch();
}

} // namespace

FramePass FramePass::of(const QString &name)
{
    static const QRegularExpression frame("^frame_(\\d+)(?:_([a-z]+))?\\.\\w+$");
    static const QRegularExpression view("^([a-z]+)_(\\d+)\\.\\w+$");
    if (const auto m = frame.match(name); m.hasMatch())
        return {QString::number(m.captured(1).toInt()),
                m.captured(2).isEmpty() ? QStringLiteral("rgb") : m.captured(2)};
    if (const auto m = view.match(name); m.hasMatch())
        return {QString::number(m.captured(2).toInt()), m.captured(1)};
    return {};
}

FalseColour FalseColour::of(const QImage &decoded, const QString &pass)
{
    FalseColour out;
    const bool sixteenGrey = decoded.format() == QImage::Format_Grayscale16;
    if ((pass == "depth" || pass == "instance") && sixteenGrey) {
        const int w = decoded.width(), h = decoded.height();
        QImage img(w, h, QImage::Format_RGB32);
        if (pass == "depth") {
            // 0 is "no hit"; the ramp spans the nearest to the farthest surface.
            quint16 lo = 65535, hi = 0;
            for (int y = 0; y < h; ++y) {
                const auto *row = reinterpret_cast<const quint16 *>(decoded.constScanLine(y));
                for (int x = 0; x < w; ++x)
                    if (row[x]) {
                        lo = std::min(lo, row[x]);
                        hi = std::max(hi, row[x]);
                    }
            }
            const double span = hi > lo ? hi - lo : 1.0;
            for (int y = 0; y < h; ++y) {
                const auto *row = reinterpret_cast<const quint16 *>(decoded.constScanLine(y));
                auto *dst = reinterpret_cast<QRgb *>(img.scanLine(y));
                for (int x = 0; x < w; ++x)
                    dst[x] = row[x] ? ramp((row[x] - lo) / span) : qRgb(0, 0, 0);
            }
            out.legend = hi >= lo ? QObject::tr("depth %1 (near, blue) … %2 (far, red) in 16-bit "
                                                "units; black: no surface")
                                        .arg(lo)
                                        .arg(hi)
                                  : QObject::tr("depth: no surface in this frame");
            QImage bar(256, 14, QImage::Format_RGB32);
            for (int x = 0; x < 256; ++x)
                for (int y = 0; y < 14; ++y)
                    bar.setPixel(x, y, ramp(x / 255.0));
            out.legendImage = bar;
        } else {
            QMap<int, qint64> ids;
            for (int y = 0; y < h; ++y) {
                const auto *row = reinterpret_cast<const quint16 *>(decoded.constScanLine(y));
                auto *dst = reinterpret_cast<QRgb *>(img.scanLine(y));
                for (int x = 0; x < w; ++x) {
                    dst[x] = idColour(row[x]);
                    ++ids[row[x]];
                }
            }
            ids.remove(0);
            QStringList names;
            for (auto it = ids.cbegin(); it != ids.cend() && names.size() < 12; ++it)
                names.append(QString::number(it.key()));
            out.legend =
                QObject::tr("%n instance(s): ids %1%2; black: background", nullptr, int(ids.size()))
                    .arg(names.join(", "), ids.size() > 12 ? ", …" : "");
            const int n = int(std::min<qsizetype>(ids.size(), 12));
            QImage swatches(std::max(1, n) * 18, 14, QImage::Format_RGB32);
            swatches.fill(Qt::black);
            QPainter p(&swatches);
            int i = 0;
            for (auto it = ids.cbegin(); it != ids.cend() && i < n; ++it, ++i)
                p.fillRect(i * 18, 0, 16, 14, QColor(idColour(it.key())));
            out.legendImage = swatches;
        }
        out.image = img;
        return out;
    }
    out.image = decoded.convertToFormat(QImage::Format_RGB32);
    if (pass == "normal")
        out.legend = QObject::tr("normals: x, y, z → red, green, blue (0.5 grey is 0)");
    else if (pass == "xyz" || pass == "nocs")
        out.legend = QObject::tr("NOCS: the object's normalised x, y, z → red, green, blue");
    else if (pass == "mask")
        out.legend = QObject::tr("mask: white where the object is");
    else if (decoded.depth() > 32 || sixteenGrey)
        out.legend = QObject::tr("16-bit image shown in 8 bits");
    return out;
}

ImageCanvas::ImageCanvas(QWidget *parent)
    : QWidget(parent)
{
    setObjectName("frameCanvas");
    setMinimumSize(200, 150);
    setFocusPolicy(Qt::StrongFocus);
    setCursor(Qt::OpenHandCursor);
    setAutoFillBackground(true);
    QPalette pal = palette();
    pal.setColor(QPalette::Window, QColor(14, 16, 20));
    setPalette(pal);
}

void ImageCanvas::setImage(const QImage &image)
{
    const bool newSize = image.size() != m_image.size();
    m_image = image;
    if (newSize || m_fitted)
        fit();
    update();
}

void ImageCanvas::setZoom(double zoom)
{
    m_zoom = std::clamp(zoom, 0.02, 64.0);
    m_fitted = false;
    update();
}

void ImageCanvas::fit()
{
    if (m_image.isNull() || width() < 2 || height() < 2)
        return;
    m_zoom = std::min(double(width()) / m_image.width(), double(height()) / m_image.height());
    m_offset = {};
    m_fitted = true;
    update();
}

void ImageCanvas::paintEvent(QPaintEvent *)
{
    QPainter p(this);
    if (m_image.isNull()) {
        p.setPen(palette().color(QPalette::PlaceholderText));
        p.drawText(rect(), Qt::AlignCenter, tr("Loading…"));
        return;
    }
    const QSizeF size = QSizeF(m_image.size()) * m_zoom;
    const QPointF topLeft = QPointF(width() / 2.0, height() / 2.0) + m_offset -
                            QPointF(size.width() / 2, size.height() / 2);
    // Pixels stay crisp when magnified: the artist is looking at them.
    p.setRenderHint(QPainter::SmoothPixmapTransform, m_zoom < 1.0);
    p.drawImage(QRectF(topLeft, size), m_image);
}

void ImageCanvas::wheelEvent(QWheelEvent *event)
{
    setZoom(m_zoom * std::pow(1.0015, event->angleDelta().y()));
}

void ImageCanvas::mousePressEvent(QMouseEvent *event)
{
    m_lastDrag = event->pos();
}

void ImageCanvas::mouseMoveEvent(QMouseEvent *event)
{
    if (!(event->buttons() & Qt::LeftButton))
        return;
    m_offset += event->pos() - m_lastDrag;
    m_lastDrag = event->pos();
    m_fitted = false;
    update();
}

void ImageCanvas::mouseDoubleClickEvent(QMouseEvent *)
{
    fit();
}

void ImageCanvas::resizeEvent(QResizeEvent *)
{
    if (m_fitted)
        fit();
}

FrameViewer::FrameViewer(client::ApiClient *api, qint64 jobId, const QStringList &outputs,
                         QWidget *parent)
    : QDialog(parent)
    , m_api(api)
    , m_jobId(jobId)
    , m_canvas(new ImageCanvas(this))
    , m_passBox(new QComboBox(this))
    , m_caption(new QLabel(this))
    , m_legend(new QLabel(this))
    , m_legendBar(new QLabel(this))
{
    setObjectName("frameViewer");
    setWindowTitle(tr("Job %1 frames").arg(jobId));
    resize(960, 720);
    m_passBox->setObjectName("passSelector");
    m_caption->setObjectName("frameCaption");
    m_caption->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_legend->setObjectName("passLegend");
    m_legend->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto *prev = new QPushButton(themedIcon("go-previous", QStyle::SP_ArrowBack), QString(), this);
    auto *next = new QPushButton(themedIcon("go-next", QStyle::SP_ArrowForward), QString(), this);
    prev->setToolTip(tr("Previous frame (←)"));
    next->setToolTip(tr("Next frame (→)"));
    auto *fit = new QPushButton(tr("Fit"), this);
    auto *actual = new QPushButton(tr("1:1"), this);
    for (QPushButton *b : {prev, next, fit, actual})
        b->setFocusPolicy(Qt::NoFocus);
    connect(prev, &QPushButton::clicked, this, &FrameViewer::previous);
    connect(next, &QPushButton::clicked, this, &FrameViewer::next);
    connect(fit, &QPushButton::clicked, m_canvas, &ImageCanvas::fit);
    connect(actual, &QPushButton::clicked, this, [this] { m_canvas->setZoom(1.0); });
    connect(m_passBox, &QComboBox::activated, this,
            [this](int) { setPass(m_passBox->currentText()); });

    auto *bar = new QHBoxLayout;
    bar->addWidget(prev);
    bar->addWidget(next);
    bar->addWidget(m_caption, 1);
    bar->addWidget(new QLabel(tr("Pass"), this));
    bar->addWidget(m_passBox);
    bar->addWidget(fit);
    bar->addWidget(actual);
    auto *legend = new QHBoxLayout;
    legend->addWidget(m_legendBar);
    legend->addWidget(m_legend, 1);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(bar);
    layout->addWidget(m_canvas, 1);
    layout->addLayout(legend);
    addOutputs(outputs);
}

void FrameViewer::addOutputs(const QStringList &outputs)
{
    for (const QString &name : outputs) {
        const FramePass fp = FramePass::of(name);
        if (fp.frame.isEmpty())
            continue;
        QString &slot = m_frames[fp.frame][fp.pass];
        // An image wins over its .npy/.exr twin: it can be shown.
        if (slot.isEmpty() || (!isImageName(slot) && isImageName(name)))
            slot = name;
        m_order.insert(fp.frame.toInt(), fp.frame);
    }
    if (m_frame.isEmpty() && !m_order.isEmpty()) {
        m_frame = m_order.first();
        showCurrent();
    } else {
        updatePasses();
    }
}

void FrameViewer::showOutput(const QString &name)
{
    const FramePass fp = FramePass::of(name);
    if (!m_frames.contains(fp.frame))
        addOutputs({name});
    if (!m_frames.contains(fp.frame))
        return;
    m_frame = fp.frame;
    m_pass = fp.pass;
    showCurrent();
}

QStringList FrameViewer::passes() const
{
    QStringList list = m_frames.value(m_frame).keys();
    std::sort(list.begin(), list.end(), [](const QString &a, const QString &b) {
        // The beauty pass first, the others by name.
        return (a == "rgb") != (b == "rgb") ? a == "rgb" : a < b;
    });
    return list;
}

QString FrameViewer::currentOutput() const
{
    return m_frames.value(m_frame).value(m_pass);
}

QImage FrameViewer::shownImage() const
{
    return m_canvas->image();
}

QString FrameViewer::legendText() const
{
    return m_legend->text();
}

void FrameViewer::updatePasses()
{
    const QStringList list = passes();
    if (m_passBox->count() != list.size() || [&] {
            for (int i = 0; i < list.size(); ++i)
                if (m_passBox->itemText(i) != list[i])
                    return true;
            return false;
        }()) {
        m_passBox->clear();
        m_passBox->addItems(list);
    }
    m_passBox->setCurrentText(m_pass);
    const int index = int(m_order.values().indexOf(m_frame));
    m_caption->setText(tr("Frame %1 (%2 of %3) · %4")
                           .arg(m_frame)
                           .arg(index + 1)
                           .arg(m_order.size())
                           .arg(currentOutput()));
}

void FrameViewer::showCurrent()
{
    if (!m_frames.value(m_frame).contains(m_pass))
        m_pass =
            m_frames.value(m_frame).contains("rgb") ? QStringLiteral("rgb") : passes().value(0);
    updatePasses();
    const QString name = currentOutput();
    const QString pass = m_pass;
    auto show = [this, name, pass](const QImage &decoded) {
        if (name != currentOutput())
            return; // the user moved on meanwhile
        const FalseColour fc = FalseColour::of(decoded, pass);
        m_canvas->setImage(fc.image);
        m_legend->setText(fc.legend);
        m_legendBar->setPixmap(QPixmap::fromImage(fc.legendImage));
        m_legendBar->setVisible(!fc.legendImage.isNull());
        emit imageShown(name);
    };
    if (m_cache.contains(name))
        return show(m_cache.value(name));
    if (!isImageName(name)) {
        m_canvas->setImage({});
        m_legend->setText(tr("%1 is data, not an image: save it to read it.").arg(name));
        m_legendBar->hide();
        return;
    }
    m_api->fetchOutput(m_jobId, name, [this, name, show](Result<QByteArray> r) {
        if (!r)
            return m_legend->setText(tr("cannot fetch %1: %2").arg(name, r.error().message));
        const QImage image = QImage::fromData(*r);
        if (image.isNull())
            return m_legend->setText(tr("%1 is not an image this viewer reads").arg(name));
        m_cache.insert(name, image);
        show(image);
    });
}

void FrameViewer::next()
{
    const QStringList order = m_order.values();
    const int i = int(order.indexOf(m_frame));
    if (i + 1 < order.size()) {
        m_frame = order[i + 1];
        showCurrent();
    }
}

void FrameViewer::previous()
{
    const QStringList order = m_order.values();
    const int i = int(order.indexOf(m_frame));
    if (i > 0) {
        m_frame = order[i - 1];
        showCurrent();
    }
}

void FrameViewer::setPass(const QString &pass)
{
    if (!m_frames.value(m_frame).contains(pass))
        return;
    m_pass = pass;
    showCurrent();
}

void FrameViewer::keyPressEvent(QKeyEvent *event)
{
    switch (event->key()) {
    case Qt::Key_Right:
    case Qt::Key_PageDown:
        return next();
    case Qt::Key_Left:
    case Qt::Key_PageUp:
        return previous();
    case Qt::Key_Home:
        m_frame = m_order.isEmpty() ? QString() : m_order.first();
        return showCurrent();
    case Qt::Key_End:
        m_frame = m_order.isEmpty() ? QString() : m_order.last();
        return showCurrent();
    case Qt::Key_Plus:
    case Qt::Key_Equal:
        return m_canvas->setZoom(m_canvas->zoom() * 1.25);
    case Qt::Key_Minus:
        return m_canvas->setZoom(m_canvas->zoom() / 1.25);
    case Qt::Key_F:
        return m_canvas->fit();
    default:
        QDialog::keyPressEvent(event);
    }
}

} // namespace farm::gui
