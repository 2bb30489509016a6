// The submit dialog draws its form from the chosen job type's schema: no client code per type.
#include "dialogs/submitdialog.h"
#include "guitesting.h"
#include "widgets/schemaform.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QGroupBox>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QtTest>

using namespace farm;
using farm::gui::DropBundle;
using farm::gui::SubmitDialog;

class TestSubmitDialog : public QObject
{
    Q_OBJECT
private:
    QTemporaryDir m_dir;
    QList<client::JobTypeInfo> m_types = testing::jobTypes();

    static QPushButton *okButton(SubmitDialog &d)
    {
        for (QPushButton *b : d.findChildren<QPushButton *>())
            if (b->text() == "Upload and render")
                return b;
        return nullptr;
    }

    template<typename T> static T *field(SubmitDialog &d, const QString &name)
    {
        return d.findChild<T *>(name);
    }

    QString writeFile(const QString &name, const QByteArray &bytes = "v 0 0 0\n")
    {
        const QString path = m_dir.filePath(name);
        QDir().mkpath(QFileInfo(path).absolutePath());
        QFile f(path);
        if (!f.open(QIODevice::WriteOnly) || f.write(bytes) != bytes.size())
            return {};
        return path;
    }

    DropBundle bundleOf(const QStringList &paths)
    {
        auto b = DropBundle::fromPaths(paths, client::allExtensions(m_types));
        if (!b)
            qFatal("%s", qPrintable(b.error().message));
        return *b;
    }

    JobInput input(const QString &main)
    {
        JobInput in;
        in.main = main;
        in.files = {{main, QString(64, 'b')}};
        return in;
    }

private slots:
    void modelFormHasTheSchemasLimits()
    {
        SubmitDialog d(bundleOf({writeFile("m/engine.glb")}), m_types, nullptr);
        d.show(); // row visibility is only meaningful on a shown dialog
        QCOMPARE(field<QComboBox>(d, "type")->currentData().toString(), QString("model"));
        // The types offered are those that take .glb, in the server's order.
        QStringList offered;
        for (int i = 0; i < field<QComboBox>(d, "type")->count(); ++i)
            offered.append(field<QComboBox>(d, "type")->itemData(i).toString());
        QCOMPARE(offered, (QStringList{"model", "templates", "testonly"}));

        auto *width = field<QSpinBox>(d, "width");
        QVERIFY(width);
        QCOMPARE(width->minimum(), 16);
        QCOMPARE(width->maximum(), 8192);
        QCOMPARE(width->value(), 640);
        QCOMPARE(field<QSpinBox>(d, "spp")->maximum(), 4096);
        auto *mode = field<QComboBox>(d, "camera.mode");
        QCOMPARE(mode->count(), 2);
        QCOMPARE(mode->itemText(1), QString("turntable"));
        QCOMPARE(field<QComboBox>(d, "bit_depth")->itemText(1), QString("16"));
        QVERIFY(field<QCheckBox>(d, "passes:rgb")->isChecked());
        QVERIFY(!field<QCheckBox>(d, "passes:instance")->isChecked());
        // Nested objects are a group box; groups are sections.
        QVERIFY(field<QGroupBox>(d, "camera"));
        QCOMPARE(field<QGroupBox>(d, "group:Output")->title(), QString("Output"));
        // visible_when: the view width shows for an orthographic projection only.
        auto *orthoWidth = field<QDoubleSpinBox>(d, "camera.ortho_width");
        QVERIFY(orthoWidth->isHidden());
        field<QComboBox>(d, "camera.projection")->setCurrentText("orthographic");
        QVERIFY(!orthoWidth->isHidden());
        orthoWidth->setValue(2.5);
        QVERIFY(!field<QLineEdit>(d, "frames")->isHidden());

        field<QLineEdit>(d, "name")->setText("engine spin");
        field<QLineEdit>(d, "frames")->setText("1-24");
        field<QSpinBox>(d, "chunk")->setValue(4);
        width->setValue(1280);
        field<QSpinBox>(d, "priority")->setValue(80);
        mode->setCurrentText("turntable");
        field<QCheckBox>(d, "passes:depth")->setChecked(true);
        const QJsonObject json = d.specJson(input("engine.glb"));
        QCOMPARE(json.value("name").toString(), QString("engine spin"));
        QCOMPARE(json.value("type").toString(), QString("model"));
        QCOMPARE(json.value("priority").toInt(), 80);
        QCOMPARE(json.value("frames").toString(), QString("1-24"));
        QCOMPARE(json.value("chunk").toInt(), 4);
        const QJsonObject s = json.value("settings").toObject();
        QCOMPARE(s.value("width").toInt(), 1280);
        QCOMPARE(s.value("camera").toObject(),
                 (QJsonObject{
                     {"mode", "turntable"}, {"projection", "orthographic"}, {"ortho_width", 2.5}}));
        QCOMPARE(s.value("passes").toArray(), (QJsonArray{"rgb", "depth"}));
        // A hidden field is left out.
        field<QComboBox>(d, "camera.projection")->setCurrentText("perspective");
        QVERIFY(!d.form()->values().value("camera").toObject().contains("ortho_width"));

        // No pass at all: the schema's minItems refuses it before any upload.
        field<QCheckBox>(d, "passes:rgb")->setChecked(false);
        field<QCheckBox>(d, "passes:depth")->setChecked(false);
        d.accept();
        QCOMPARE(d.result(), int(QDialog::Rejected));
        QVERIFY2(field<QLabel>(d, "error")->text().contains("settings.passes must name at least"),
                 qPrintable(field<QLabel>(d, "error")->text()));
    }

    void unknownTypeGetsItsFormFromItsSchema()
    {
        SubmitDialog d(bundleOf({writeFile("t/cube.glb")}), m_types, nullptr);
        d.show();
        auto *type = field<QComboBox>(d, "type");
        type->setCurrentIndex(type->findData("testonly"));
        QCOMPARE(field<QLabel>(d, "typeDescription")->text(),
                 QString("A type only the tests know"));
        auto *flavour = field<QComboBox>(d, "flavour");
        QVERIFY(flavour);
        QCOMPARE(flavour->count(), 2);
        QCOMPARE(flavour->itemText(0), QString("salty"));
        QCOMPARE(flavour->currentText(), QString("sweet"));
        auto *strength = field<QSpinBox>(d, "strength");
        QVERIFY(strength);
        QVERIFY(strength->isVisible()); // drawn on a dialog already shown
        QCOMPARE(strength->minimum(), 1);
        QCOMPARE(strength->maximum(), 5);
        QCOMPARE(strength->value(), 3);
        QVERIFY(!field<QSpinBox>(d, "width")); // the model form is gone
        flavour->setCurrentText("salty");
        strength->setValue(5);
        const QJsonObject json = d.specJson(input("cube.glb"));
        QCOMPARE(json.value("type").toString(), QString("testonly"));
        QCOMPARE(json.value("settings").toObject(),
                 (QJsonObject{{"flavour", "salty"}, {"strength", 5}}));
    }

    void optionalFieldsStartFromTheScene()
    {
        SubmitDialog d(bundleOf({writeFile("b/shot.blend", "BLENDER")}), m_types, nullptr);
        d.show();
        QCOMPARE(field<QComboBox>(d, "type")->currentData().toString(), QString("blender"));
        QCOMPARE(field<QComboBox>(d, "type")->count(), 1);
        auto *samples = field<QSpinBox>(d, "samples");
        QCOMPARE(samples->text(), QString("from the scene"));
        QCOMPARE(field<QComboBox>(d, "render_engine")->currentText(), QString("from the scene"));
        QVERIFY(field<QLineEdit>(d, "camera")->text().isEmpty());
        // Only what has a default, or what the user set, is sent.
        QCOMPARE(d.form()->values(), (QJsonObject{{"denoise", false},
                                                  {"gpu_backend", "CUDA"},
                                                  {"format", "PNG"},
                                                  {"video", QJsonObject{{"enabled", false}}}}));
        samples->setValue(128);
        QCOMPARE(samples->minimum(), 0); // one below the schema's 1: "from the scene"
        field<QComboBox>(d, "render_engine")->setCurrentText("CYCLES");
        QCOMPARE(d.form()->values().value("samples").toInt(), 128);
        QCOMPARE(d.form()->values().value("render_engine").toString(), QString("CYCLES"));
        // The pattern is a validator: a name with a slash cannot be typed in.
        auto *camera = field<QLineEdit>(d, "camera");
        QVERIFY(camera->validator());
        QString text = "Cam/1";
        int pos = 0;
        QCOMPARE(camera->validator()->validate(text, pos), QValidator::Invalid);
        QCOMPARE(camera->maxLength(), 63);
        samples->setValue(0);
        QVERIFY(!d.form()->values().contains("samples"));
    }

    void templatesHideFramesAndPresetsPerType()
    {
        const QString ini = m_dir.filePath("presets.ini");
        const QString model = writeFile("p/part.obj");
        {
            QSettings settings(ini, QSettings::IniFormat);
            SubmitDialog d(bundleOf({model}), m_types, &settings);
            d.show();
            field<QSpinBox>(d, "width")->setValue(320);
            auto *type = field<QComboBox>(d, "type");
            type->setCurrentIndex(type->findData("templates"));
            QVERIFY(field<QLineEdit>(d, "frames")->isHidden());
            QVERIFY(field<QSpinBox>(d, "chunk")->isHidden());
            QCOMPARE(field<QSpinBox>(d, "views")->maximum(), 10000);
            // The templates schema's own default passes.
            QVERIFY(field<QCheckBox>(d, "passes:mask")->isChecked());
            QVERIFY(field<QCheckBox>(d, "passes:xyz")->isChecked());
            field<QSpinBox>(d, "views")->setValue(12);
            const QJsonObject json = d.specJson(input("part.obj"));
            QCOMPARE(json.value("chunk").toInt(), 1);
            QCOMPARE(json.value("frames").toString(), QString("1"));
            QCOMPARE(json.value("settings").toObject().value("views").toInt(), 12);
            // Back to model: the value typed there came back.
            type->setCurrentIndex(type->findData("model"));
            QCOMPARE(field<QSpinBox>(d, "width")->value(), 320);
            QVERIFY(field<QSpinBox>(d, "width")->isVisible());
            type->setCurrentIndex(type->findData("templates"));
            QCOMPARE(field<QSpinBox>(d, "views")->value(), 12);
            d.accept();
            QCOMPARE(d.result(), int(QDialog::Accepted));
        }
        QSettings settings(ini, QSettings::IniFormat);
        SubmitDialog next(bundleOf({writeFile("p/other.obj")}), m_types, &settings);
        QCOMPARE(field<QComboBox>(next, "type")->currentData().toString(), QString("templates"));
        QCOMPARE(field<QSpinBox>(next, "views")->value(), 12);
        auto *type = field<QComboBox>(next, "type");
        type->setCurrentIndex(type->findData("model"));
        QCOMPARE(field<QSpinBox>(next, "width")->value(), 320);
        QCOMPARE(field<QLineEdit>(next, "name")->text(), QString()); // names are not remembered
    }

    // Presets and last-used values belong to a server (its URL) and a job type.
    void presetsAndLastUsedPerServer()
    {
        QTemporaryDir home; // the settings of this test only
        const QString ini = home.filePath("farm-gui.ini");
        const QString a = "http://farm-a.example:8080";
        const QString b = "http://farm-b.example:8080/";
        const QString model = writeFile("s/part.glb");
        {
            QSettings settings(ini, QSettings::IniFormat);
            SubmitDialog d(bundleOf({model}), m_types, &settings, a);
            d.show();
            QCOMPARE(field<QComboBox>(d, "type")->currentData().toString(), QString("model"));
            QVERIFY(d.presetNames().isEmpty());
            QVERIFY(!field<QComboBox>(d, "preset")->isEnabled());
            field<QSpinBox>(d, "width")->setValue(1920);
            field<QSpinBox>(d, "spp")->setValue(256);
            field<QComboBox>(d, "camera.mode")->setCurrentText("turntable");
            field<QCheckBox>(d, "passes:depth")->setChecked(true);
            field<QSpinBox>(d, "priority")->setValue(90);
            QVERIFY(d.savePreset("hq").ok());
            QVERIFY(!d.savePreset("  ").ok()); // a name is needed
            QCOMPARE(d.presetNames(), QStringList{"hq"});
            QCOMPARE(field<QComboBox>(d, "preset")->currentText(), QString("hq"));
            // Last used on A: a smaller render than the preset.
            field<QSpinBox>(d, "width")->setValue(320);
            field<QSpinBox>(d, "spp")->setValue(8);
            field<QSpinBox>(d, "priority")->setValue(20);
            d.accept();
            QCOMPARE(d.result(), int(QDialog::Accepted));
        }
        {
            QSettings settings(ini, QSettings::IniFormat);
            SubmitDialog d(bundleOf({model}), m_types, &settings, b);
            d.show();
            // Server B has no preset and no last-used values of A: the schema's defaults.
            QVERIFY(d.presetNames().isEmpty());
            QCOMPARE(field<QComboBox>(d, "preset")->findText("hq"), -1);
            QCOMPARE(field<QSpinBox>(d, "width")->value(), 640);
            QCOMPARE(field<QSpinBox>(d, "priority")->value(), 50);
            field<QSpinBox>(d, "width")->setValue(800);
            d.accept();
            QCOMPARE(d.result(), int(QDialog::Accepted));
        }
        QSettings settings(ini, QSettings::IniFormat);
        {
            // A new dialog for A: A's last-used values, and its preset fills the form.
            SubmitDialog d(bundleOf({model}), m_types, &settings, a + "/");
            d.show();
            QCOMPARE(field<QSpinBox>(d, "width")->value(), 320);
            QCOMPARE(field<QSpinBox>(d, "spp")->value(), 8);
            QCOMPARE(field<QSpinBox>(d, "priority")->value(), 20);
            QCOMPARE(d.presetNames(), QStringList{"hq"});
            auto *preset = field<QComboBox>(d, "preset");
            QVERIFY(preset->isEnabled());
            // Chosen the way a user does: the combo's activation.
            const int hq = preset->findData("hq");
            QVERIFY(hq > 0);
            preset->setCurrentIndex(hq);
            emit preset->activated(hq);
            QCOMPARE(field<QSpinBox>(d, "width")->value(), 1920);
            QCOMPARE(field<QSpinBox>(d, "spp")->value(), 256);
            QCOMPARE(field<QComboBox>(d, "camera.mode")->currentText(), QString("turntable"));
            QVERIFY(field<QCheckBox>(d, "passes:depth")->isChecked());
            QCOMPARE(field<QSpinBox>(d, "priority")->value(), 90);
            QVERIFY(d.presetNote().isEmpty());
            // Presets are per type too: templates has none.
            auto *type = field<QComboBox>(d, "type");
            type->setCurrentIndex(type->findData("templates"));
            QVERIFY(d.presetNames().isEmpty());
            type->setCurrentIndex(type->findData("model"));
            QCOMPARE(d.presetNames(), QStringList{"hq"});
        }
        {
            SubmitDialog d(bundleOf({model}), m_types, &settings, b);
            QCOMPARE(field<QSpinBox>(d, "width")->value(), 800); // B's own last-used value
            QVERIFY(d.presetNames().isEmpty());
        }
        {
            // A preset saved when the type's schema was different: what it no longer has, or
            // no longer allows, is left out and named.
            SubmitDialog d(bundleOf({model}), m_types, &settings, a);
            QJsonObject presets =
                QJsonDocument::fromJson(settings
                                            .value("submit/servers/" +
                                                   QString::fromLatin1(QUrl::toPercentEncoding(a)) +
                                                   "/presets/model")
                                            .toString()
                                            .toUtf8())
                    .object();
            QVERIFY(presets.contains("hq"));
            QJsonObject old = presets.value("hq").toObject();
            QJsonObject s = old.value("settings").toObject();
            s.insert("width", 99999);          // above the schema's maximum now
            s.insert("exposure_curve", "old"); // a setting the type dropped
            old.insert("settings", s);
            presets.insert("old", old);
            settings.setValue("submit/servers/" + QString::fromLatin1(QUrl::toPercentEncoding(a)) +
                                  "/presets/model",
                              QString::fromUtf8(QJsonDocument(presets).toJson()));
            QVERIFY(d.applyPreset("old"));
            QCOMPARE(field<QSpinBox>(d, "width")->value(), 640); // the default, not clamped
            QCOMPARE(field<QSpinBox>(d, "spp")->value(), 256);   // the rest applied
            const QString note = d.presetNote();
            QVERIFY2(note.contains("settings.width") && note.contains("exposure_curve"),
                     qPrintable(note));
            QVERIFY(!field<QLabel>(d, "presetNote")->text().isEmpty());
            QVERIFY(!d.applyPreset("nonesuch"));
            // Delete: gone here and in the next dialog.
            d.deletePreset("hq");
            QCOMPARE(d.presetNames(), QStringList{"old"});
            d.deletePreset("old");
            QVERIFY(d.presetNames().isEmpty());
        }
        SubmitDialog again(bundleOf({model}), m_types, &settings, a);
        QVERIFY(again.presetNames().isEmpty());
        QCOMPARE(field<QComboBox>(again, "preset")->findText("hq"), -1);
        QCOMPARE(field<QSpinBox>(again, "width")->value(), 320);
    }

    void refusesInvalidFrames()
    {
        SubmitDialog d(bundleOf({writeFile("f/a.obj")}), m_types, nullptr);
        field<QLineEdit>(d, "frames")->setText("10-1");
        d.accept();
        QCOMPARE(d.result(), int(QDialog::Rejected));
        QVERIFY(!field<QLabel>(d, "error")->isHidden());
        QVERIFY(field<QLabel>(d, "error")->text().contains("frame"));
        field<QLineEdit>(d, "frames")->setText("1-48:2");
        d.accept();
        QCOMPARE(d.result(), int(QDialog::Accepted));
    }

    void fileByUrl()
    {
        const QString cues = writeFile("u/cues.json", R"({"version": "1.3", "cues": []})");
        SubmitDialog d(bundleOf({cues}), m_types, nullptr);
        QCOMPARE(d.currentType()->name, QString("compose"));
        auto *url = field<QLineEdit>(d, "inputUrl");
        QVERIFY(url && url->isVisibleTo(&d));
        const QString hint = field<QLabel>(d, "inputUrlHint")->text();
        QVERIFY2(hint.contains("(http or https)") && hint.contains(".mp4, .m4v"), qPrintable(hint));

        // Refused before any upload, the dialog stays open with the reason.
        const QList<std::pair<QString, QString>> refused{
            {"ftp://media.example.com/clip.mp4", "is a ftp: URL; only http and https"},
            {"clip.mp4", "is not an absolute URL"},
            {"https://me:secret@media.example.com/clip.mp4", "user name or password"},
            {"https://media.example.com/notes.txt",
             "must end in a file name Text over video jobs take beside the main file (.mp4, "},
            {"https://media.example.com/", "must end in a file name"},
        };
        for (const auto &[text, reason] : refused) {
            url->setText(text);
            d.accept();
            QCOMPARE(d.result(), int(QDialog::Rejected));
            const QString error = field<QLabel>(d, "error")->text();
            QVERIFY2(!field<QLabel>(d, "error")->isHidden() && error.startsWith("File by URL: ") &&
                         error.contains(reason),
                     qPrintable(text + " -> " + error));
        }

        // Accepted: the file travels beside the uploaded scenario, named by the URL's last
        // segment (decoded), the URL kept for the server to fetch.
        const QString good = "https://media.example.com/shows/clip%20one.mp4?token=abc";
        url->setText(good);
        d.accept();
        QCOMPARE(d.result(), int(QDialog::Accepted));
        const gui::SubmitOptions o = d.options();
        QCOMPARE(o.url, good);
        const auto spec = o.specFor(input("cues.json"), "cues.json");
        QVERIFY2(spec, qPrintable(spec ? QString() : spec.error().message));
        QCOMPARE(spec->input.files.size(), 2);
        QCOMPARE(spec->input.files[1].path, QString("clip one.mp4"));
        QCOMPARE(spec->input.files[1].url, good);
        QVERIFY(spec->input.files[1].file.isEmpty());
        const QJsonArray sent =
            d.specJson(input("cues.json")).value("input").toObject().value("files").toArray();
        QCOMPARE(sent.size(), 2);
        QCOMPARE(sent[1].toObject().value("url").toString(), good);

        // A name the dropped files already have.
        SubmitDialog both(bundleOf({cues, writeFile("u/clip.mp4", "video")}), m_types, nullptr);
        field<QLineEdit>(both, "inputUrl")->setText("https://media.example.com/clip.mp4");
        both.accept();
        QCOMPARE(both.result(), int(QDialog::Rejected));
        QVERIFY2(field<QLabel>(both, "error")->text().contains("already has a file clip.mp4"),
                 qPrintable(field<QLabel>(both, "error")->text()));

        // A type that takes nothing beside its main file offers no URL and sends none.
        QList<client::JobTypeInfo> alone = m_types;
        for (client::JobTypeInfo &t : alone)
            if (t.name == "compose")
                t.sideExtensions.clear();
        SubmitDialog bare(bundleOf({cues}), alone, nullptr);
        QVERIFY(!field<QLineEdit>(bare, "inputUrl")->isVisibleTo(&bare));
        field<QLineEdit>(bare, "inputUrl")->setText(good);
        QVERIFY(bare.options().url.isEmpty());
    }

    void showsBundleAndMissingSideFiles()
    {
        const QString box = m_dir.filePath("box");
        if (!testing::copyFolder(testing::kBoxTextured, box))
            QSKIP("assimp-testmodels is not installed");
        {
            SubmitDialog d(bundleOf({box + "/BoxTextured.gltf"}), m_types, nullptr);
            QStringList files;
            for (int i = 0; i < field<QListWidget>(d, "bundleFiles")->count(); ++i)
                files.append(field<QListWidget>(d, "bundleFiles")->item(i)->text());
            QCOMPARE(files,
                     (QStringList{"BoxTextured.gltf", "BoxTextured0.bin", "CesiumLogoFlat.png"}));
            QVERIFY(field<QLabel>(d, "missing")->isHidden());
            QVERIFY(okButton(d)->isEnabled());
        }
        QVERIFY(QFile::remove(box + "/CesiumLogoFlat.png"));
        SubmitDialog d(bundleOf({box + "/BoxTextured.gltf"}), m_types, nullptr);
        d.show();
        QVERIFY(!field<QLabel>(d, "missing")->isHidden());
        QVERIFY2(field<QLabel>(d, "missing")
                     ->text()
                     .contains("BoxTextured.gltf needs CesiumLogoFlat.png"),
                 qPrintable(field<QLabel>(d, "missing")->text()));
        QVERIFY(!okButton(d)->isEnabled());
        d.accept();
        QCOMPARE(d.result(), int(QDialog::Rejected));
    }
};

QTEST_MAIN(TestSubmitDialog)
#include "tst_submitdialog.moc"
