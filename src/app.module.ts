import { Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { TerminusModule } from '@nestjs/terminus';
import { AdminPageModule } from './example/admin-page.module';
import { HealthController } from './example/health.controller';
import { statsOptionsFromEnv } from './example/stats-options.from-env';
import { StatsModule } from './stats';

/** The example host application: an existing Nest backend that adds the StatsModule. */
@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true }),
    StatsModule.forRootAsync({
      imports: [ConfigModule],
      inject: [ConfigService],
      useFactory: statsOptionsFromEnv,
    }),
    TerminusModule,
    AdminPageModule,
  ],
  controllers: [HealthController],
})
export class AppModule {}
