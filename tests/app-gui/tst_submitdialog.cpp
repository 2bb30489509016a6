#include "dialogs/submitdialog.h"

#include <QCheckBox>
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
        // What the dialog builds is what the server accepts.
        QVERIFY(JobSpec::fromJson(json).ok());
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
