export { bootstrap, type ServiceContext, type ServiceModule } from './bootstrap';
