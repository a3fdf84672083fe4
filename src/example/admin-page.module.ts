import { Controller, Get, Module, NotFoundException, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { join, resolve } from 'node:path';

// Same depth from src/example (ts-jest) and dist/example (nest start), so one path serves both:
// the page's html/js/css stay in the source tree and are never copied into dist.
const ROOT = resolve(__dirname, '..', '..');
const PAGE = join(ROOT, 'src', 'example', 'admin');
const MODULES = join(ROOT, 'node_modules');

/** Everything the page loads, by the name it asks for: nothing outside this list is served. */
const FILES: Record<string, string> = {
  'admin.js': join(PAGE, 'admin.js'),
  'admin.css': join(PAGE, 'admin.css'),
  'd3-array.min.js': join(MODULES, 'd3-array', 'dist', 'd3-array.min.js'),
  'd3-geo.min.js': join(MODULES, 'd3-geo', 'dist', 'd3-geo.min.js'),
  'topojson-client.min.js': join(MODULES, 'topojson-client', 'dist', 'topojson-client.min.js'),
  'countries-110m.json': join(MODULES, 'world-atlas', 'countries-110m.json'),
};

function send(response: Response, file: string): void {
  // The browser may load from this origin only, and the page runs no inline script.
  response.setHeader(
    'Content-Security-Policy',
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
  );
  response.setHeader('X-Content-Type-Options', 'nosniff');
  response.setHeader('Referrer-Policy', 'no-referrer');
  response.setHeader('Cache-Control', 'no-cache');
  response.sendFile(file);
}

/** The example host's admin page: `GET /` and its scripts, styles and map under `/admin/`. */
@ApiExcludeController() // a page, not part of the HTTP API
@Controller()
export class AdminPageController {
  @Get()
  page(@Res() response: Response): void {
    send(response, join(PAGE, 'index.html'));
  }

  @Get('admin/:file')
  asset(@Param('file') name: string, @Res() response: Response): void {
    const file = Object.hasOwn(FILES, name) ? FILES[name] : undefined;
    if (!file) throw new NotFoundException();
    send(response, file);
  }
}

@Module({ controllers: [AdminPageController] })
export class AdminPageModule {}
