/** Per-OS behaviour, injected through Context (`ctx.platform`) so tests can run Windows and macOS branches on Linux. */
export * from './platform.js'
export {renameWithRetry, type RenameRetryOptions} from './rename.js'
export {homeInDscl, homeInPasswd, passwdOf, systemPasswd, type PasswdLookup} from './passwd.js'
