#pragma once

#include "client/apiclient.h"

#include <QDialog>
#include <QHash>
#include <QImage>
#include <QMap>

class QComboBox;
class QLabel;

namespace farm::gui {

/// One output's place in a job's frames: frame_0007_depth.png is frame "7", pass "depth";
/// a template's depth_12.png is view "12", pass "depth". Other outputs have no frame.
struct FramePass
{
    QString frame; // empty: not a frame
    QString pass;  // "rgb" for the beauty image
    static FramePass of(const QString &outputName);
};

/// A pass image as a person reads it: 16-bit depth and instance ids in false colour, normals
/// and NOCS as RGB. `legend` says what the colours mean (the depth range, the ids shown).
struct FalseColour
{
    QImage image;
    QString legend;
    QImage legendImage; // a colour bar or swatches; null when the image speaks for itself
    static FalseColour of(const QImage &decoded, const QString &pass);
};

/// Zoom (wheel, + / -), pan (drag) and fit (double-click, F) over one image.
class ImageCanvas : public QWidget
{
    Q_OBJECT
public:
    explicit ImageCanvas(QWidget *parent = nullptr);
    void setImage(const QImage &image);
    QImage image() const { return m_image; }
    double zoom() const { return m_zoom; }
    void setZoom(double zoom);
    void fit();

protected:
    void paintEvent(QPaintEvent *) override;
    void wheelEvent(QWheelEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
    void mouseMoveEvent(QMouseEvent *event) override;
    void mouseDoubleClickEvent(QMouseEvent *) override;
    void resizeEvent(QResizeEvent *) override;

private:
    QImage m_image;
    double m_zoom = 1.0;
    QPointF m_offset; // image centre relative to the widget centre
    QPoint m_lastDrag;
    bool m_fitted = true;
};

/// A job's frames full size: flip through them (←/→, Home/End), zoom and pan, and pick a pass
/// (rgb, depth, normal, xyz/NOCS, instance, mask) shown in false colour with a legend.
class FrameViewer : public QDialog
{
    Q_OBJECT
public:
    FrameViewer(client::ApiClient *api, qint64 jobId, const QStringList &outputs,
                QWidget *parent = nullptr);

    /// Adds outputs that landed after the viewer opened.
    void addOutputs(const QStringList &outputs);
    void showOutput(const QString &name);
    /// Frame (or view) numbers in numeric order.
    QStringList frames() const { return m_order.values(); }
    QString currentFrame() const { return m_frame; }
    QString currentPass() const { return m_pass; }
    QStringList passes() const;
    QString currentOutput() const;
    /// The image on screen (false-coloured) and its legend; null until it was fetched.
    QImage shownImage() const;
    QString legendText() const;
    ImageCanvas *canvas() const { return m_canvas; }

    void next();
    void previous();
    void setPass(const QString &pass);

signals:
    void imageShown(const QString &output);

protected:
    void keyPressEvent(QKeyEvent *event) override;

private:
    void showCurrent();
    void updatePasses();

    client::ApiClient *m_api;
    qint64 m_jobId;
    // frame (sorted numerically) -> pass -> output name (images preferred over .npy/.exr)
    QMap<int, QString> m_order;
    QHash<QString, QHash<QString, QString>> m_frames;
    QString m_frame;
    QString m_pass = QStringLiteral("rgb");
    QHash<QString, QImage> m_cache;
    ImageCanvas *m_canvas;
    QComboBox *m_passBox;
    QLabel *m_caption;
    QLabel *m_legend;
    QLabel *m_legendBar;
};

} // namespace farm::gui
