#pragma once

#include <QList>
#include <QObject>
#include <QSocketNotifier>

#include <memory>

namespace farm::node {

/// Turns POSIX signals (SIGINT, SIGTERM) into a Qt signal on the event loop, via a self-pipe:
/// a signal handler may only write(2), so the real work happens in received().
class SignalWatcher : public QObject
{
    Q_OBJECT
public:
    explicit SignalWatcher(const QList<int> &signalNumbers, QObject *parent = nullptr);
    ~SignalWatcher() override;

signals:
    void received(int signalNumber);

private:
    void onReadable();

    QList<int> m_signals;
    std::unique_ptr<QSocketNotifier> m_notifier;
};

} // namespace farm::node
