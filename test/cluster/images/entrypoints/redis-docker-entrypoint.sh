#!/bin/sh
# Stand-in for the official redis image's docker-entrypoint.sh (docker-library/redis), same
# contract: options or a .conf file as first argument mean redis-server; started as root it
# chowns the working directory (/data) to redis and drops to that user; umask 0077.
set -e
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
  set -- redis-server "$@"
fi
if [ "$1" = 'redis-server' ] && [ "$(id -u)" = '0' ]; then
  find . \! -user redis -exec chown redis '{}' +
  exec setpriv --reuid=redis --regid=redis --init-groups -- "$0" "$@"
fi
# The official image's redis-server is built with protected mode off by default (it patches
# src/config.c); Debian's is not. Without a config file, say so on the command line instead.
if [ "$1" = 'redis-server' ] && [ "${2%.conf}" = "${2:-}" ]; then
  case " $* " in
    *" --protected-mode "*) ;;
    *) shift; set -- redis-server --protected-mode no "$@" ;;
  esac
fi
um="$(umask)"
if [ "$um" = '0022' ]; then
  umask 0077
fi
exec "$@"
