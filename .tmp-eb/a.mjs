import { Connection, Client } from '@temporalio/client'; console.log(typeof Client);
