package dev.strangler.router.internal;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.TimeUnit;

/**
 * Kept-alive connections of one event loop to one upstream. Used only from its event loop (no locks): an
 * idle connection is taken if there is one, else a new one is opened up to the limit, else the caller waits
 * for the next connection given back, at most {@code maxWait}: then it fails as a connect that timed out (504).
 */
final class UpstreamPool {

    /** Who wants a connection. */
    interface Taker {
        /** @param reused the connection served requests before (it may have been closed by the upstream meanwhile) */
        void connected(Channel channel, boolean reused);

        void failed(Throwable cause);
    }

    /** A taker in line, and the timer that gives up on it. */
    private static final class Waiting {
        final Taker taker;
        ScheduledFuture<?> timer;
        boolean gaveUp;

        Waiting(Taker taker) {
            this.taker = taker;
        }
    }

    private final Bootstrap bootstrap;
    private final EventLoop loop;
    private final int limit;
    private final Duration maxWait;
    private final Deque<Channel> idle = new ArrayDeque<>();
    private final Deque<Waiting> waiting = new ArrayDeque<>();
    private int open;

    /** @param bootstrap bound to {@code loop}, the pool's event loop, with the upstream's address */
    UpstreamPool(Bootstrap bootstrap, EventLoop loop, int limit, Duration maxWait) {
        this.bootstrap = bootstrap;
        this.loop = loop;
        this.limit = limit;
        this.maxWait = maxWait;
    }

    void take(Taker taker) {
        Channel channel;
        while ((channel = idle.pollLast()) != null) {
            if (channel.isActive()) {
                taker.connected(channel, true);
                return;
            }
        }
        if (open >= limit) {
            Waiting line = new Waiting(taker);
            line.timer = loop.schedule(() -> {
                line.gaveUp = true;
                taker.failed(new ConnectTimeoutException("no connection to the upstream came free within " + maxWait.toMillis()
                        + " ms (all " + limit + " of this event loop busy: maxConnectionsPerUpstream)"));
            }, maxWait.toMillis(), TimeUnit.MILLISECONDS);
            waiting.addLast(line);
            return;
        }
        connect(taker);
    }

    /** A connection whose answer ended and that the upstream keeps alive: to the next waiting taker, or idle. */
    void giveBack(Channel channel) {
        if (!channel.isActive()) {
            return;
        }
        Taker next = nextWaiting();
        if (next != null) {
            next.connected(channel, true);
        } else {
            idle.addLast(channel);
        }
    }

    /** A connection of this pool closed (by either end). */
    void closed(Channel channel) {
        open--;
        idle.remove(channel);
        Taker next = nextWaiting();
        if (next != null) {
            connect(next);
        }
    }

    /** The first taker in line that is still waiting, its timer stopped; null if none. */
    private Taker nextWaiting() {
        Waiting line;
        while ((line = waiting.pollFirst()) != null) {
            if (!line.gaveUp) {
                line.timer.cancel(false);
                return line.taker;
            }
        }
        return null;
    }

    private void connect(Taker taker) {
        open++;
        ChannelFuture connect = bootstrap.connect();
        Channel channel = connect.channel();
        channel.closeFuture().addListener(f -> closed(channel));
        connect.addListener(f -> {
            if (f.isSuccess()) {
                taker.connected(channel, false);
            } else {
                taker.failed(f.cause());
            }
        });
    }
}
