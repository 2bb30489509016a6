#include "dialogs/submitdialog.h"

#include <QCheckBox>
#include <QComboBox>
#include <QJsonArray>
#include <QLabel>
#include <QLineEdit>
#include <QSettings>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QtTest>

using namespace farm;
using farm::gui::SubmitDialog;

class TestSubmitDialog : public QObject
{
    Q_OBJECT
private:
    QTemporaryDir m_dir;
    const QString m_sha = QString(64, 'b');

    template<typename T> static T *field(SubmitDialog &d, const char *name)
    {
        return d.findChild<T *>(name);
    }

private slots:
    void buildsJobSpecJson()
    {
        QSettings settings(m_dir.filePath("a.ini"), QSettings::IniFormat);
        SubmitDialog d({"/models/engine.glb"}, &settings);
        QCOMPARE(field<QLineEdit>(d, "name")->text(), QString("engine.glb"));
        field<QLineEdit>(d, "name")->setText("engine spin");
        field<QLineEdit>(d, "frames")->setText("1-24");
        field<QSpinBox>(d, "chunk")->setValue(4);
        field<QSpinBox>(d, "width")->setValue(1280);
        field<QSpinBox>(d, "height")->setValue(720);
        field<QSpinBox>(d, "spp")->setValue(64);
        field<QSpinBox>(d, "priority")->setValue(80);
        field<QCheckBox>(d, "turntable")->setChecked(true);

        const QJsonObject json = d.specJson("/models/engine.glb", m_sha);
        QCOMPARE(json.value("name").toString(), QString("engine spin"));
        QCOMPARE(json.value("type").toString(), QString("model"));
        QCOMPARE(json.value("priority").toInt(), 80);
        QCOMPARE(json.value("frames").toString(), QString("1-24"));
        QCOMPARE(json.value("chunk").toInt(), 4);
        QCOMPARE(json.value("input").toObject(),
                 (QJsonObject{{"file", m_sha}, {"name", "engine.glb"}}));
        const QJsonObject s = json.value("settings").toObject();
        QCOMPARE(s.value("width").toInt(), 1280);
        QCOMPARE(s.value("height").toInt(), 720);
        QCOMPARE(s.value("spp").toInt(), 64);
        QCOMPARE(s.value("camera").toObject().value("mode").toString(), QString("turntable"));
        QCOMPARE(s.value("passes").toArray(), QJsonArray{"rgb"});
        QVERIFY(!s.value("camera").toObject().contains("projection"));
        // What the dialog builds is what the server accepts.
        QVERIFY(JobSpec::fromJson(json).ok());
        // The orthographic camera and the instance pass.
        field<QCheckBox>(d, "orthographic")->setChecked(true);
        field<QCheckBox>(d, "pass_instance")->setChecked(true);
        const auto ortho = d.specFor("/models/engine.glb", m_sha);
        QVERIFY(ortho.ok());
        QCOMPARE(ortho->settings.projection, QString("orthographic"));
        QCOMPARE(ortho->settings.passes, (QStringList{"rgb", "instance"}));
    }

    void buildsTemplatesJob()
    {
        const QString ini = m_dir.filePath("t.ini");
        {
            QSettings settings(ini, QSettings::IniFormat);
            SubmitDialog d({"/models/engine.glb"}, &settings);
            d.show(); // row visibility is only meaningful on a shown dialog
            auto *type = field<QComboBox>(d, "type");
            QVERIFY(field<QSpinBox>(d, "views")->isHidden());
            type->setCurrentIndex(type->findData("templates"));
            QVERIFY(!field<QSpinBox>(d, "views")->isHidden());
            QVERIFY(field<QLineEdit>(d, "frames")->isHidden());
            QVERIFY(field<QCheckBox>(d, "turntable")->isHidden());
            QVERIFY(field<QCheckBox>(d, "orthographic")->isHidden());
            // The template passes are ticked for a template set.
            QVERIFY(field<QCheckBox>(d, "pass_mask")->isChecked());
            QVERIFY(field<QCheckBox>(d, "pass_xyz")->isChecked());
            QVERIFY(!field<QCheckBox>(d, "pass_depth")->isChecked());
            field<QCheckBox>(d, "pass_depth")->setChecked(true);
            field<QSpinBox>(d, "views")->setValue(12);

            const QJsonObject json = d.specJson("/models/engine.glb", m_sha);
            QCOMPARE(json.value("type").toString(), QString("templates"));
            QCOMPARE(json.value("frames").toString(), QString("1"));
            const QJsonObject s = json.value("settings").toObject();
            QCOMPARE(s.value("views").toInt(), 12);
            QCOMPARE(s.value("passes").toArray(), (QJsonArray{"rgb", "depth", "mask", "xyz"}));
            QCOMPARE(s.value("camera").toObject().value("mode").toString(), QString("still"));

            // No pass at all is refused with the validator's message.
            for (const char *pass : {"pass_rgb", "pass_depth", "pass_mask", "pass_xyz"})
                field<QCheckBox>(d, pass)->setChecked(false);
            d.accept();
            QCOMPARE(d.result(), int(QDialog::Rejected));
            QVERIFY(field<QLabel>(d, "error")->text().contains("passes"));
            field<QCheckBox>(d, "pass_rgb")->setChecked(true);
            field<QCheckBox>(d, "pass_mask")->setChecked(true);
            d.accept();
            QCOMPARE(d.result(), int(QDialog::Accepted));
        }
        QSettings settings(ini, QSettings::IniFormat);
        SubmitDialog next({"/m/c.obj"}, &settings);
        QCOMPARE(field<QComboBox>(next, "type")->currentData().toString(), QString("templates"));
        QCOMPARE(field<QSpinBox>(next, "views")->value(), 12);
        QVERIFY(field<QCheckBox>(next, "pass_mask")->isChecked());
        QVERIFY(!field<QCheckBox>(next, "pass_xyz")->isChecked());
        // Back to a model render: its default pass.
        field<QComboBox>(next, "type")->setCurrentIndex(0);
        QCOMPARE(next.options().passes, QStringList{"rgb"});
        QVERIFY(next.specFor("/m/c.obj", m_sha).ok());
    }

    void manyFilesNameEachJob()
    {
        SubmitDialog d({"/m/a.obj", "/m/b.obj"}, nullptr);
        QVERIFY(field<QLineEdit>(d, "name")->text().isEmpty());
        QCOMPARE(d.specFor("/m/b.obj", m_sha)->name, QString("b.obj"));
        field<QLineEdit>(d, "name")->setText("batch");
        QCOMPARE(d.specFor("/m/a.obj", m_sha)->name, QString("batch – a.obj"));
    }

    void refusesInvalidFramesAndRemembersValues()
    {
        const QString ini = m_dir.filePath("b.ini");
        {
            QSettings settings(ini, QSettings::IniFormat);
            SubmitDialog d({"/m/a.obj"}, &settings);
            field<QLineEdit>(d, "frames")->setText("10-1");
            d.accept();
            QCOMPARE(d.result(), int(QDialog::Rejected));
            QVERIFY(!field<QLabel>(d, "error")->isHidden());
            QVERIFY(field<QLabel>(d, "error")->text().contains("frame"));

            field<QLineEdit>(d, "frames")->setText("1-48:2");
            field<QSpinBox>(d, "spp")->setValue(128);
            field<QCheckBox>(d, "turntable")->setChecked(true);
            d.accept();
            QCOMPARE(d.result(), int(QDialog::Accepted));
        }
        QSettings settings(ini, QSettings::IniFormat);
        SubmitDialog next({"/m/c.obj"}, &settings);
        QCOMPARE(field<QLineEdit>(next, "frames")->text(), QString("1-48:2"));
        QCOMPARE(field<QSpinBox>(next, "spp")->value(), 128);
        QVERIFY(field<QCheckBox>(next, "turntable")->isChecked());
        QCOMPARE(field<QLineEdit>(next, "name")->text(), QString("c.obj")); // not remembered
    }
};

QTEST_MAIN(TestSubmitDialog)
#include "tst_submitdialog.moc"
